/* The listening sockets (listen.c). */
#ifndef RINGSIDE_LISTEN_H
#define RINGSIDE_LISTEN_H

#include "server.h"

int check_port_free(struct rs_server *s, struct ring *r0);
int setup_listener(struct ring *r, uint32_t port);
int setup_cpu_steering(struct rs_server *s);

#endif
