/*
 * LD_PRELOAD shim for Debian's syncevolution 2.0.0 HTTP client.
 *
 * Its CurlTransportAgent passes C++ lambda objects, not function pointers, through the varargs
 * of curl_easy_setopt(CURLOPT_READFUNCTION / CURLOPT_WRITEFUNCTION), so libcurl reads garbage
 * and crashes in curl_easy_perform. This wrapper replaces those two callbacks, when set from
 * libsyncevolution, by plain C functions that call the agent's exported member functions
 * readData/writeData with the READDATA/WRITEDATA pointer (the agent) as `this`. Every other
 * option is passed through unchanged.
 *
 * Only the libcurl ABI is used (no curl headers needed): options are ints whose range says the
 * type of the vararg (long, object pointer, function pointer, curl_off_t, blob pointer).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

typedef void CURL;
typedef int CURLcode;
typedef long long curl_off_t;

enum {
    OPT_OBJECTPOINT = 10000,
    OPT_FUNCTIONPOINT = 20000,
    OPT_OFF_T = 30000,
    OPT_BLOB = 40000,
    OPT_WRITEFUNCTION = OPT_FUNCTIONPOINT + 11,
    OPT_READFUNCTION = OPT_FUNCTIONPOINT + 12,
};

typedef CURLcode (*setopt_fn)(CURL *, int, ...);
/* Itanium C++ ABI: a non-virtual member function takes `this` as its first argument. */
typedef size_t (*member_io_fn)(void *self, void *buffer, size_t size);

static member_io_fn agent_read_data;
static member_io_fn agent_write_data;

static size_t read_trampoline(char *buffer, size_t size, size_t nitems, void *agent)
{
    return agent_read_data(agent, buffer, size * nitems);
}

static size_t write_trampoline(char *buffer, size_t size, size_t nitems, void *agent)
{
    return agent_write_data(agent, buffer, size * nitems);
}

static int called_from_syncevolution(const void *return_address)
{
    Dl_info info;
    if (!dladdr(return_address, &info) || !info.dli_fname) {
        return 0;
    }
    return strstr(info.dli_fname, "libsyncevolution") != NULL;
}

static void resolve_members(void)
{
    if (!agent_read_data) {
        agent_read_data = (member_io_fn)dlsym(
            RTLD_DEFAULT, "_ZN7SyncEvo18CurlTransportAgent8readDataEPvm");
    }
    if (!agent_write_data) {
        agent_write_data = (member_io_fn)dlsym(
            RTLD_DEFAULT, "_ZN7SyncEvo18CurlTransportAgent9writeDataEPvm");
    }
}

CURLcode curl_easy_setopt(CURL *handle, int option, ...)
{
    static setopt_fn real_setopt;
    if (!real_setopt) {
        real_setopt = (setopt_fn)dlsym(RTLD_NEXT, "curl_easy_setopt");
        if (!real_setopt) {
            fprintf(stderr, "curl_shim: libcurl's curl_easy_setopt not found\n");
            return 48; /* CURLE_UNKNOWN_OPTION */
        }
    }

    va_list args;
    va_start(args, option);
    CURLcode result;
    if (option < OPT_OBJECTPOINT) {
        long value = va_arg(args, long);
        result = real_setopt(handle, option, value);
    } else if (option >= OPT_OFF_T && option < OPT_BLOB) {
        curl_off_t value = va_arg(args, curl_off_t);
        result = real_setopt(handle, option, value);
    } else {
        void *value = va_arg(args, void *);
        if ((option == OPT_READFUNCTION || option == OPT_WRITEFUNCTION) &&
            called_from_syncevolution(__builtin_return_address(0))) {
            resolve_members();
            if (option == OPT_READFUNCTION && agent_read_data) {
                value = (void *)read_trampoline;
            } else if (option == OPT_WRITEFUNCTION && agent_write_data) {
                value = (void *)write_trampoline;
            } else {
                fprintf(stderr, "curl_shim: CurlTransportAgent::readData/writeData not found\n");
            }
        }
        result = real_setopt(handle, option, value);
    }
    va_end(args);
    return result;
}
