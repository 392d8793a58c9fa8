/*
 * pp_net: socket addresses of "host:port" settings (http.listen, the
 * broker's --listen and upstream). host is a name, an IPv4 address or a
 * bracketed IPv6 address ("[::1]:9092"); "localhost" is always 127.0.0.1,
 * so that a listener and its clients agree whatever the resolver prefers.
 * Callers write their own messages. Any thread.
 */
#ifndef PP_NET_H
#define PP_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "pp_err.h"

/* PP_OK and the address; PP_ERR_INVALID when text is not host:port (port
 * 0..65535); PP_ERR_NOTFOUND when host does not resolve. */
enum pp_err pp_net_parse_addr(const char *text, struct sockaddr_storage *ss, socklen_t *ss_len);

/* True for 127.0.0.0/8 and ::1. */
bool pp_net_is_loopback(const struct sockaddr_storage *ss);

/* The port of an IPv4 or IPv6 address, in host order. */
uint16_t pp_net_port(const struct sockaddr_storage *ss);

#endif
