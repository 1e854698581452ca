/* The opcodes the server submits, for rs_describe and --doctor (probe.c). */
#ifndef RINGSIDE_PROBE_H
#define RINGSIDE_PROBE_H

#include <stddef.h>
#include <stdint.h>

extern const uint8_t rs_ops_used[];
extern const size_t rs_ops_used_len;

#endif
