#include "pp_net.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum pp_err pp_net_parse_addr(const char *text, struct sockaddr_storage *ss, socklen_t *ss_len)
{
    bool is_bracketed = text[0] == '[';
    struct addrinfo hints;
    struct addrinfo *res = NULL;
    const char *port;
    char host[256];
    size_t host_len;
    char *end;
    long port_num;

    if (is_bracketed) {
        const char *close = strchr(text, ']');
        if (close == NULL || close[1] != ':')
            return PP_ERR_INVALID;
        host_len = (size_t)(close - text - 1);
        memcpy(host, text + 1, host_len < sizeof host ? host_len : 0);
        port = close + 2;
    } else {
        const char *colon = strrchr(text, ':');
        if (colon == NULL)
            return PP_ERR_INVALID;
        host_len = (size_t)(colon - text);
        if (memchr(text, ':', host_len) != NULL) /* IPv6 needs brackets */
            return PP_ERR_INVALID;
        memcpy(host, text, host_len < sizeof host ? host_len : 0);
        port = colon + 1;
    }
    if (host_len == 0 || host_len >= sizeof host)
        return PP_ERR_INVALID;
    host[host_len] = '\0';
    port_num = strtol(port, &end, 10);
    if (*port < '0' || *port > '9' || *end != '\0' || port_num > 65535)
        return PP_ERR_INVALID;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = is_bracketed ? AF_INET6 : AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (is_bracketed ? AI_NUMERICHOST : 0);
    if (getaddrinfo(strcmp(host, "localhost") == 0 ? "127.0.0.1" : host, port, &hints, &res) != 0 ||
        res == NULL)
        /* Brackets hold an IPv6 literal: anything else there is syntax. */
        return is_bracketed ? PP_ERR_INVALID : PP_ERR_NOTFOUND;
    memset(ss, 0, sizeof *ss);
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *ss_len = res->ai_addrlen;
    freeaddrinfo(res);
    return PP_OK;
}

bool pp_net_is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)ss;
        return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)ss;
        return IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
    }
    return false;
}

uint16_t pp_net_port(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)(const void *)ss)->sin6_port);
    return ntohs(((const struct sockaddr_in *)(const void *)ss)->sin_port);
}
