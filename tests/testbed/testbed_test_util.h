/* Helpers shared by the testbed tests. */
#ifndef TP_TESTS_TESTBED_UTIL_H
#define TP_TESTS_TESTBED_UTIL_H

#include <stdbool.h>
#include <stdint.h>

/* A TCP socket on 127.0.0.1, any port (*port), listening with a backlog that takes every test's
 * clients at once; listening=false: bound only, so a connection to it is refused. Fails the test
 * when it cannot be made. */
int tb_test_loopback_socket(uint16_t *port, bool listening);

#endif
