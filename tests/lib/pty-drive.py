#!/usr/bin/env python3
"""Drive a command on a real pseudo-terminal, as a user at a keyboard.

    pty-drive.py ROWS COLS CMD [ARG...] <SCRIPT

The command starts on a new pty of ROWS x COLS.  SCRIPT has one step per
line:

    expect REGEX        wait (20 s at most) until the output matches REGEX
    send TEXT           type TEXT (Python escapes: \\n, \\x10 ...)
    resize ROWS COLS    change the window size (the kernel sends SIGWINCH)
    retry TEXT REGEX    type TEXT every 0.2 s until the output matches REGEX
    eof                 wait (20 s at most) for the command to exit

Everything the command printed is written to stdout at the end; the exit
status is the command's (124 when a step timed out, after killing it).
"""
import codecs
import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time

STEP_TIMEOUT = 20.0


def set_size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def main():
    rows, cols, argv = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    steps = [line.rstrip("\n") for line in sys.stdin if line.strip()]
    pid, fd = pty.fork()
    if pid == 0:
        set_size(0, rows, cols)
        os.execvp(argv[0], argv)
    out = bytearray()
    status = None

    def pump(timeout):
        nonlocal status
        r, _, _ = select.select([fd], [], [], timeout)
        if r:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            out.extend(data)
            return bool(data)
        return True

    def seen(regex):
        return re.search(regex, out.decode("utf-8", "replace"))

    def fail(what):
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        sys.stdout.write(out.decode("utf-8", "replace"))
        sys.stdout.write("\npty-drive: timed out: %s\n" % what)
        sys.exit(124)

    for step in steps:
        verb, _, arg = step.partition(" ")
        end = time.monotonic() + STEP_TIMEOUT
        if verb == "expect":
            while not seen(arg):
                if time.monotonic() > end or not pump(0.2):
                    fail(step)
        elif verb == "send":
            os.write(fd, codecs.decode(arg, "unicode_escape").encode("latin-1"))
        elif verb == "resize":
            r, c = arg.split()
            set_size(fd, int(r), int(c))
        elif verb == "retry":
            text, regex = arg.split(" ", 1)
            while not seen(regex):
                if time.monotonic() > end:
                    fail(step)
                os.write(fd, codecs.decode(text, "unicode_escape").encode("latin-1"))
                t = time.monotonic() + 0.2
                while time.monotonic() < t and not seen(regex):
                    pump(0.05)
        elif verb == "eof":
            while pump(0.2):
                if time.monotonic() > end:
                    fail(step)
        else:
            fail("unknown step " + step)
    end = time.monotonic() + STEP_TIMEOUT
    while status is None:
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
            break
        if time.monotonic() > end:
            fail("exit")
        pump(0.1)
    sys.stdout.write(out.decode("utf-8", "replace"))
    sys.exit(os.waitstatus_to_exitcode(status) & 0xFF)


if __name__ == "__main__":
    main()
