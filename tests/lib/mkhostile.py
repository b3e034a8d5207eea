#!/usr/bin/python3
"""Build the hostile images of berth's system tests (stdlib + openssl CLI).

usage: mkhostile.py OUTDIR BUSYBOX_LAYOUT [--schema1-key KEY.pem]

skopeo would refuse or repair these, so they are written as raw pieces and
pushed with curl by push_raw_image (tests/lib/registry.sh), or served as
they are by tests/lib/fake-registry.py.  Each image is a
directory OUTDIR/NAME holding:

  blobs/HEX          uploaded under sha256:HEX (its true digest: the
                     registry checks digests on upload)
  manifest           the manifest bytes, PUT as-is to /v2/NAME/manifests/latest
  manifest.type      its Content-Type
  replace/HEX        (bad-digest only) written over the registry's stored
                     copy of blob HEX after the upload
  delete/HEX         (missing-blob only) blob deleted from the registry after
                     the manifest is stored
  fake-only          (huge-manifest only) docker-registry 2.8 can neither
                     store nor serve a manifest over 4 MiB, so this one is
                     served by tests/lib/fake-registry.py only
  README             what is wrong with it, for a human reading a failure

Every image but schema1 starts with the busybox layer and config of
BUSYBOX_LAYOUT, so an engine that wrongly accepts one can still run it.
Images (repository name = directory name):

  bad-digest    layer 2 (gzip, stored blocks) is replaced in the registry's
                storage by a different but valid gzip tar of the same size:
                the bytes served no longer hash to the manifest's digest.
  truncated     layer 2 is the first half of a gzip stream, uploaded under the
                digest of those truncated bytes: only decompression fails.
  dotdot        layer 2 has "dotdot-ok" then the entry "../escape".
  symlink-escape layer 2 has symlink "evil" -> "/" then the regular file
                "evil/tmp/pwned" (content "pwned\\n").
  unknown-media the busybox layer listed with mediaType application/x-unknown.
  huge-manifest a valid manifest padded past 4 MiB with an annotation.
  bad-diffid    digests all correct, but the config's rootfs.diff_ids[0] is
                the sha256 of something else.
  missing-blob  manifest stored, then its layer 2 blob deleted (GET -> 404).
  schema1       a Docker schema 1 manifest (v1+prettyjws), signed with an
                RSA key (libtrust JWS, RS256) so registry 2.8 stores it when
                compatibility.schema1.enabled is set; one layer: busybox's.
"""

import argparse
import base64
import gzip
import hashlib
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tarfile

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+prettyjws"


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def rand_bytes(seed, n):
    return random.Random(seed).randbytes(n)


def tar_bytes(entries):
    """entries: list of (TarInfo, data or None); deterministic output."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for info, data in entries:
            info.mtime = 0
            info.uname = info.gname = ""
            t.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def reg(name, data, mode=0o644):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    return info, data


def dirent(name, mode=0o755):
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = mode
    return info, None


def symlink(name, target):
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    info.mode = 0o777
    return info, None


def gz(data, level=6):
    return gzip.compress(data, compresslevel=level, mtime=0)


class Busybox:
    """The busybox layer and config of an OCI layout made by mkimage.sh."""

    def __init__(self, layout):
        self.layout = layout
        index = json.loads(self.blob_path_read("index.json"))
        manifest = json.loads(self.blob(index["manifests"][0]["digest"]))
        self.layer_desc = manifest["layers"][0]
        self.layer = self.blob(self.layer_desc["digest"])
        self.config = json.loads(self.blob(manifest["config"]["digest"]))

    def blob_path_read(self, rel):
        with open(os.path.join(self.layout, rel), "rb") as f:
            return f.read()

    def blob(self, digest):
        return self.blob_path_read("blobs/sha256/" + digest.split(":", 1)[1])


class Image:
    def __init__(self, outdir, name, readme):
        self.dir = os.path.join(outdir, name)
        if os.path.exists(self.dir):
            shutil.rmtree(self.dir)
        os.makedirs(os.path.join(self.dir, "blobs"))
        with open(os.path.join(self.dir, "README"), "w", encoding="utf-8") as f:
            f.write(readme.strip() + "\n")

    def put(self, sub, data):
        os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        hexd = sha256(data)
        with open(os.path.join(self.dir, sub, hexd), "wb") as f:
            f.write(data)
        return hexd

    def add_blob(self, data, media_type):
        hexd = self.put("blobs", data)
        return {"mediaType": media_type, "digest": "sha256:" + hexd,
                "size": len(data)}

    def write_manifest(self, data, media_type):
        with open(os.path.join(self.dir, "manifest"), "wb") as f:
            f.write(data)
        with open(os.path.join(self.dir, "manifest.type"), "w",
                  encoding="ascii") as f:
            f.write(media_type + "\n")

    def mark(self, what, hexd, data=b""):
        os.makedirs(os.path.join(self.dir, what), exist_ok=True)
        with open(os.path.join(self.dir, what, hexd), "wb") as f:
            f.write(data)


def oci_image(img, bb, extra_layers, diff_ids=None, annotations=None,
              first_layer_type=None):
    """extra_layers: list of (compressed bytes, media type, diff id hex)."""
    first = dict(bb.layer_desc)
    img.add_blob(bb.layer, first["mediaType"])
    if first_layer_type:
        first["mediaType"] = first_layer_type
    layers = [first]
    ids = list(bb.config["rootfs"]["diff_ids"])
    for data, mtype, diff in extra_layers:
        layers.append(img.add_blob(data, mtype))
        ids.append("sha256:" + diff)
    config = json.loads(json.dumps(bb.config))
    config["rootfs"]["diff_ids"] = diff_ids or ids
    config["history"] = [{"created": "1970-01-01T00:00:00Z",
                          "created_by": "berth tests/lib/mkhostile.py"}
                         for _ in layers]
    cfg = json.dumps(config, separators=(",", ":")).encode()
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": img.add_blob(cfg, OCI_CONFIG), "layers": layers}
    if annotations:
        manifest["annotations"] = annotations
    img.write_manifest(json.dumps(manifest, separators=(",", ":")).encode(),
                       OCI_MANIFEST)
    return layers


def bad_digest(out, bb):
    img = Image(out, "bad-digest", "layer 2 content in registry storage was "
                "replaced after upload: served bytes do not match its digest")
    # Random data (incompressible) with gzip level 0 (stored blocks): two
    # different payloads give two valid gzip streams of exactly equal length,
    # so only the digest check can notice the swap.
    good_tar = tar_bytes([dirent("bad"),
                          reg("bad/data", rand_bytes("good", 8192))])
    evil_tar = tar_bytes([dirent("bad"),
                          reg("bad/data", rand_bytes("evil", 8192))])
    good, evil = gz(good_tar, 0), gz(evil_tar, 0)
    assert len(good) == len(evil)
    layers = oci_image(img, bb, [(good, OCI_GZIP, sha256(good_tar))])
    img.mark("replace", layers[1]["digest"].split(":")[1], evil)


def truncated(out, bb):
    img = Image(out, "truncated", "layer 2 is a gzip stream cut in half, "
                "uploaded under the digest of the truncated bytes")
    full_tar = tar_bytes([dirent("trunc"),
                          reg("trunc/data", rand_bytes("trunc", 65536))])
    full = gz(full_tar)
    oci_image(img, bb, [(full[:len(full) // 2], OCI_GZIP, sha256(full_tar))])


def dotdot(out, bb):
    img = Image(out, "dotdot", 'layer 2: "dotdot-ok" then "../escape"')
    layer_tar = tar_bytes([reg("dotdot-ok", b"ok\n"),
                           reg("../escape", b"escaped\n")])
    oci_image(img, bb, [(gz(layer_tar), OCI_GZIP, sha256(layer_tar))])


def symlink_escape(out, bb):
    img = Image(out, "symlink-escape", 'layer 2: symlink "evil" -> "/", then '
                'the file "evil/tmp/pwned"')
    layer_tar = tar_bytes([symlink("evil", "/"),
                           reg("evil/tmp/pwned", b"pwned\n")])
    oci_image(img, bb, [(gz(layer_tar), OCI_GZIP, sha256(layer_tar))])


def unknown_media(out, bb):
    img = Image(out, "unknown-media", "the only layer has mediaType "
                "application/x-unknown")
    oci_image(img, bb, [], first_layer_type="application/x-unknown")


def huge_manifest(out, bb):
    img = Image(out, "huge-manifest", "valid OCI manifest padded past 4 MiB "
                "with the annotation org.berth.test.padding")
    oci_image(img, bb, [], annotations={
        "org.berth.test.padding": "x" * (4 * 1024 * 1024 + 4096)})
    img.mark(".", "fake-only")


def bad_diffid(out, bb):
    img = Image(out, "bad-diffid", "config rootfs.diff_ids[0] is not the "
                "sha256 of the uncompressed busybox layer")
    oci_image(img, bb, [], diff_ids=["sha256:" + sha256(b"not the layer")])


def missing_blob(out, bb):
    img = Image(out, "missing-blob", "layer 2 blob is deleted from the "
                "registry after the manifest is stored")
    layer_tar = tar_bytes([reg("missing", rand_bytes("missing", 1024))])
    data = gz(layer_tar)
    layers = oci_image(img, bb, [(data, OCI_GZIP, sha256(layer_tar))])
    img.mark("delete", layers[1]["digest"].split(":")[1])


def openssl(args, data=None):
    proc = subprocess.run(["openssl"] + args, input=data, capture_output=True,
                          timeout=60, check=False)
    if proc.returncode != 0:
        raise RuntimeError("openssl %s: %s" % (args[0], proc.stderr.decode()))
    return proc.stdout


def schema1(out, bb, key):
    img = Image(out, "schema1", "Docker schema 1 manifest (signed "
                "prettyjws), one layer: busybox's")
    img.add_blob(bb.layer, bb.layer_desc["mediaType"])
    cfg = bb.config.get("config", {})
    v1 = {"id": sha256(b"berth-schema1"), "created": "1970-01-01T00:00:00Z",
          "architecture": bb.config["architecture"], "os": bb.config["os"],
          "container_config": {"Cmd": cfg.get("Cmd")}, "config": cfg}
    manifest = {"schemaVersion": 1, "name": "schema1", "tag": "latest",
                "architecture": bb.config["architecture"],
                "fsLayers": [{"blobSum": bb.layer_desc["digest"]}],
                "history": [{"v1Compatibility": json.dumps(
                    v1, separators=(",", ":"), sort_keys=True)}]}
    payload = json.dumps(manifest, indent=3).encode()
    img.write_manifest(sign_prettyjws(payload, key), SCHEMA1)


def sign_prettyjws(payload, key):
    """libtrust JSONSignature.PrettySignature("signatures") with one RS256
    signature.  The verifier rebuilds the payload as
    content[:formatLength] + formatTail, so only those two must be right."""
    close = len(payload.rstrip()) - 1
    assert payload[close:close + 1] == b"}"
    fmt_len = len(payload[:close].rstrip())
    protected = b64url(json.dumps({
        "formatLength": fmt_len,
        "formatTail": b64url(payload[fmt_len:]),
        "time": "1970-01-01T00:00:00Z"}, separators=(",", ":")).encode())
    signing_input = (protected + "." + b64url(payload)).encode()
    sig = openssl(["dgst", "-sha256", "-sign", key], signing_input)
    modulus = openssl(["rsa", "-in", key, "-noout", "-modulus"])
    n = bytes.fromhex(modulus.decode().strip().split("=", 1)[1])
    sigs = [{"header": {"jwk": {"kty": "RSA", "n": b64url(n), "e": "AQAB"},
                        "alg": "RS256"},
             "signature": b64url(sig), "protected": protected}]
    body = json.dumps(sigs, indent=3).replace("\n", "\n   ")
    return (payload[:fmt_len] + b',\n   "signatures": ' + body.encode() +
            b"\n}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("outdir")
    p.add_argument("busybox_layout")
    p.add_argument("--schema1-key", help="RSA PEM key (made if missing)")
    args = p.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    key = args.schema1_key or os.path.join(args.outdir, "schema1-key.pem")
    if not os.path.exists(key):
        openssl(["genrsa", "-out", key, "2048"])
    bb = Busybox(args.busybox_layout)
    for build in (bad_digest, truncated, dotdot, symlink_escape,
                  unknown_media, huge_manifest, bad_diffid, missing_blob):
        build(args.outdir, bb)
    schema1(args.outdir, bb, key)
    return 0


if __name__ == "__main__":
    sys.exit(main())
