/* Which libcurl failures may pass on their own (so a retry can help): refused or reset
 * connections, timeouts, name lookups, truncated or garbled replies. Shared by every HTTP client. */
#ifndef TP_CORE_CURL_ERRORS_H
#define TP_CORE_CURL_ERRORS_H

#include <curl/curl.h>

int tp_curl_transient(CURLcode rc);

#endif
