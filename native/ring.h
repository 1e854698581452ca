/* The ring thread: its loop, completions, timers and the drain (ring.c). */
#ifndef RINGSIDE_RING_H
#define RINGSIDE_RING_H

void *ring_thread_main(void *arg);

#endif
