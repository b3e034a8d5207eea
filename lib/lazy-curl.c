/* libcurl, loaded on first use: see lib/lazy.h. */
#define CURL_DISABLE_TYPECHECK /* setopt is a function here, not a macro */
#include <curl/curl.h>
#include <stdarg.h>

#include "lib/lazy.h"

/* clang-format off */
LAZY_VOID(curl, curl_easy_cleanup, (CURL *curl), (curl))
LAZY_FN(curl, char *, curl_easy_escape, (CURL *handle, const char *string, int length), (handle, string, length))
LAZY_FN(curl, CURL *, curl_easy_init, (void), ())
LAZY_FN(curl, CURLcode, curl_easy_perform, (CURL *curl), (curl))
LAZY_VOID(curl, curl_easy_reset, (CURL *curl), (curl))
LAZY_FN(curl, const char *, curl_easy_strerror, (CURLcode a0), (a0))
LAZY_VOID(curl, curl_free, (void *p), (p))
LAZY_FN(curl, CURLcode, curl_global_init, (long flags), (flags))
LAZY_FN(curl, CURLSHcode, curl_share_cleanup, (CURLSH *share), (share))
LAZY_FN(curl, CURLSH *, curl_share_init, (void), ())
LAZY_FN(curl, struct curl_slist *, curl_slist_append, (struct curl_slist *list, const char *data), (list, data))
LAZY_VOID(curl, curl_slist_free_all, (struct curl_slist *list), (list))
LAZY_FN(curl, CURLU *, curl_url, (void), ())
LAZY_VOID(curl, curl_url_cleanup, (CURLU *handle), (handle))
LAZY_FN(curl, CURLUcode, curl_url_get, (CURLU *handle, CURLUPart what, char **part, unsigned int flags), (handle, what, part, flags))
LAZY_FN(curl, CURLUcode, curl_url_set, (CURLU *handle, CURLUPart what, const char *part, unsigned int flags), (handle, what, part, flags))
LAZY_FN(curl, char *, curl_version, (void), ())
LAZY_FN(curl, curl_version_info_data *, curl_version_info, (CURLversion a0), (a0))
/* clang-format on */

/* The variadic ones pass on their one argument as libcurl reads it. */
CURLcode curl_easy_setopt(CURL *curl, CURLoption option, ...)
{
    __typeof__(&curl_easy_setopt) fp = LAZY_RESOLVE(curl, curl_easy_setopt);
    va_list ap;
    CURLcode r;
    va_start(ap, option);
    if (option < CURLOPTTYPE_OBJECTPOINT)
        r = fp(curl, option, va_arg(ap, long));
    else if (option < CURLOPTTYPE_OFF_T)
        r = fp(curl, option, va_arg(ap, void *)); /* objects, functions */
    else if (option < CURLOPTTYPE_BLOB)
        r = fp(curl, option, va_arg(ap, curl_off_t));
    else
        r = fp(curl, option, va_arg(ap, void *));
    va_end(ap);
    return r;
}

CURLcode curl_easy_getinfo(CURL *curl, CURLINFO info, ...)
{
    __typeof__(&curl_easy_getinfo) fp = LAZY_RESOLVE(curl, curl_easy_getinfo);
    va_list ap;
    va_start(ap, info);
    CURLcode r = fp(curl, info, va_arg(ap, void *)); /* always a pointer */
    va_end(ap);
    return r;
}

CURLSHcode curl_share_setopt(CURLSH *share, CURLSHoption option, ...)
{
    __typeof__(&curl_share_setopt) fp = LAZY_RESOLVE(curl, curl_share_setopt);
    va_list ap;
    CURLSHcode r;
    va_start(ap, option);
    if (option == CURLSHOPT_SHARE || option == CURLSHOPT_UNSHARE)
        r = fp(share, option, va_arg(ap, int));
    else
        r = fp(share, option, va_arg(ap, void *));
    va_end(ap);
    return r;
}
