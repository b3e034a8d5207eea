#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "lib/sha256.h"
#include "tests/unit/tap.h"

static int check_vectors(void)
{
    char hex[65];
    sha256_hex("", 0, hex);
    TAP_STREQ(hex,
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    sha256_hex("abc", 3, hex);
    TAP_STREQ(hex,
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha256_hex(two, strlen(two), hex);
    TAP_STREQ(hex,
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* one million 'a', fed in uneven pieces */
    struct sha256 s;
    char buf[1000];
    memset(buf, 'a', sizeof buf);
    sha256_init(&s);
    size_t left = 1000000, step = 1;
    while (left) {
        size_t n = step < left ? step : left;
        sha256_update(&s, buf, n);
        left -= n;
        step = step % 900 + 13; /* stays within buf */
    }
    sha256_final_hex(&s, hex);
    TAP_STREQ(hex,
              "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    return 0;
}

static int vectors_generic(void)
{
    sha256_force_generic(true);
    int r = check_vectors();
    sha256_force_generic(false);
    return r;
}

/* The accelerated and portable paths agree on every length 0..300. */
static int paths_agree(void)
{
    unsigned char data[300];
    srand(7);
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)rand();
    for (size_t len = 0; len <= sizeof data; len++) {
        char a[65], b[65];
        sha256_force_generic(true);
        sha256_hex(data, len, a);
        sha256_force_generic(false);
        sha256_hex(data, len, b);
        TAP_STREQ(a, b);
    }
    return 0;
}

TAP_MAIN({"known vectors (default path)", check_vectors},
         {"known vectors (portable path)", vectors_generic},
         {"accelerated and portable agree", paths_agree})
