// libcurl, loaded when the first HTTP request needs it. Linking it directly made every
// `minirun` command (run, ps, logs, ...) pay for loading libcurl and its ~30 dependencies
// (TLS, Kerberos, LDAP, IDN, ...) at start-up: ~6 ms of an ~8 ms `minirun --version`.
// These definitions stand in for the libcurl functions http.cpp calls and forward to the
// real ones, resolved once from libcurl.so.4.
#include <curl/curl.h>
#include <dlfcn.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace {

struct Curl {
    CURLcode (*global_init)(long);
    CURL* (*easy_init)();
    CURLcode (*easy_setopt)(CURL*, CURLoption, ...);
    CURLcode (*easy_perform)(CURL*);
    void (*easy_cleanup)(CURL*);
    void (*easy_reset)(CURL*);
    const char* (*easy_strerror)(CURLcode);
    curl_slist* (*slist_append)(curl_slist*, const char*);
    void (*slist_free_all)(curl_slist*);
};

template <typename F>
void resolve(void* lib, F& f, const char* name) {
    f = reinterpret_cast<F>(::dlsym(lib, name));
    if (!f) {
        std::fprintf(stderr, "Error: libcurl.so.4 has no %s (install libcurl4)\n", name);
        std::exit(125);
    }
}

const Curl& curl() {
    static Curl c;
    static std::once_flag once;
    std::call_once(once, [] {
        void* lib = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
        if (!lib) {
            std::fprintf(stderr, "Error: cannot load libcurl.so.4 (install libcurl4): %s\n", ::dlerror());
            std::exit(125);
        }
        resolve(lib, c.global_init, "curl_global_init");
        resolve(lib, c.easy_init, "curl_easy_init");
        resolve(lib, c.easy_setopt, "curl_easy_setopt");
        resolve(lib, c.easy_perform, "curl_easy_perform");
        resolve(lib, c.easy_cleanup, "curl_easy_cleanup");
        resolve(lib, c.easy_reset, "curl_easy_reset");
        resolve(lib, c.easy_strerror, "curl_easy_strerror");
        resolve(lib, c.slist_append, "curl_slist_append");
        resolve(lib, c.slist_free_all, "curl_slist_free_all");
    });
    return c;
}

}  // namespace

extern "C" {

CURLcode curl_global_init(long flags) { return curl().global_init(flags); }
CURL* curl_easy_init() { return curl().easy_init(); }
CURLcode curl_easy_perform(CURL* h) { return curl().easy_perform(h); }
void curl_easy_cleanup(CURL* h) { curl().easy_cleanup(h); }
void curl_easy_reset(CURL* h) { curl().easy_reset(h); }
const char* curl_easy_strerror(CURLcode c) { return curl().easy_strerror(c); }
curl_slist* curl_slist_append(curl_slist* l, const char* s) { return curl().slist_append(l, s); }
void curl_slist_free_all(curl_slist* l) { curl().slist_free_all(l); }

// setopt takes one argument whose type the option number encodes, as libcurl itself
// decodes it: long, curl_off_t, or a pointer (object, string, function, blob).
CURLcode curl_easy_setopt(CURL* h, CURLoption opt, ...) {
    va_list ap;
    va_start(ap, opt);
    CURLcode rc;
    if (opt < CURLOPTTYPE_OBJECTPOINT) rc = curl().easy_setopt(h, opt, va_arg(ap, long));
    else if (opt >= CURLOPTTYPE_OFF_T && opt < CURLOPTTYPE_BLOB) rc = curl().easy_setopt(h, opt, va_arg(ap, curl_off_t));
    else rc = curl().easy_setopt(h, opt, va_arg(ap, void*));
    va_end(ap);
    return rc;
}

}  // extern "C"
