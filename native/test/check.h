/* The C tests' one assertion: CHECK counts and reports, the runner
 * (test/main.c) prints "N passed, M failed" and fails if M > 0. */
#ifndef RINGSIDE_TEST_CHECK_H
#define RINGSIDE_TEST_CHECK_H

#include <stdio.h>

extern int passed, failed;

#define CHECK(expr)                                                       \
	do {                                                              \
		if (expr) {                                               \
			passed++;                                         \
		} else {                                                  \
			failed++;                                         \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, \
				__LINE__, #expr);                         \
		}                                                         \
	} while (0)

int run_http_tests(void);
void run_policy_tests(void);
void run_conn_tests(void);
void run_clock_tests(void);

#endif
