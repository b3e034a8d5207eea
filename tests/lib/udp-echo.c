/* A UDP echo server for network tests, built static by the test that
 * bind-mounts it into a busybox container (busybox has no UDP server):
 *   udp-echo PORT   answers every datagram with "echo:" + the datagram */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    if (argc != 2)
        return 2;
    a.sin_port = htons((unsigned short)atoi(argv[1]));
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        perror("udp-echo");
        return 1;
    }
    for (;;) {
        char buf[1500], out[1506];
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
        if (n < 0)
            continue;
        memcpy(out, "echo:", 5);
        memcpy(out + 5, buf, (size_t)n);
        sendto(fd, out, (size_t)n + 5, 0, (struct sockaddr *)&from, fl);
    }
}
