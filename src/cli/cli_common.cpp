#include "cli_common.hpp"

#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>

#include "minirun/common/error.hpp"
#include "minirun/common/log.hpp"
#include "minirun/image/image_source.hpp"
#include "minirun/image/reference.hpp"
#include "minirun/image/store.hpp"
#include "minirun/registry/client.hpp"
#include "minirun/registry/push.hpp"

namespace minirun::cli {

void add_global_options(CLI::App& app, GlobalOptions& g) {
    app.add_option("--storage", g.storage, "Image store directory (default $MINIRUN_STORAGE or /var/lib/minirun)")
        ->envname("MINIRUN_STORAGE");
    app.add_flag("--debug", g.debug, "Log HTTP requests and internal steps");
    app.add_option("--insecure-registry", g.insecure_registries,
                   "Allow plain http for this registry (repeatable; also /etc/minirun/config.json)")
        ->allow_extra_args(false);  // one value per flag: `--insecure-registry R build` must reach build
}

namespace {
// Whether a word names an option of `app` that takes a value (flags take none).
bool takes_value(const CLI::App& app, const std::string& name) {
    const CLI::Option* o = app.get_option_no_throw(name);
    return o && o->get_expected_max() > 0 && o->get_type_size_max() > 0;
}
}  // namespace

CommandSplit split_command_tail(const CLI::App& app, const std::vector<std::string>& argv,
                                const std::vector<std::string>& verbs) {
    CommandSplit out{argv, {}, false};
    size_t i = 1;
    auto skip_options = [&](const CLI::App& owner, size_t& j) {
        // Past the options of `owner` at argv[j…]; j ends on the first word that is not one.
        while (j < argv.size()) {
            const std::string& t = argv[j];
            if (t == "--") return ++j, true;
            if (t.size() < 2 || t[0] != '-') return false;
            if (t[1] == '-') {
                bool inline_value = t.find('=') != std::string::npos;
                j += (!inline_value && takes_value(owner, t)) ? 2 : 1;
                continue;
            }
            size_t k = 1;  // a cluster of short flags: -it, -p80:80, -e X
            for (; k < t.size(); ++k) {
                std::string name{'-', t[k]};
                if (takes_value(owner, name)) {
                    if (k + 1 == t.size()) ++j;  // the value is the next word
                    break;
                }
            }
            ++j;
        }
        return false;
    };
    skip_options(app, i);
    if (i >= argv.size() || std::find(verbs.begin(), verbs.end(), argv[i]) == verbs.end()) return out;
    const CLI::App* sub = nullptr;
    try {
        sub = app.get_subcommand(argv[i]);
    } catch (const CLI::Error&) {
        return out;
    }
    size_t j = i + 1;
    skip_options(*sub, j);
    if (j >= argv.size()) return out;
    out.head.assign(argv.begin(), argv.begin() + static_cast<long>(j) + 1);
    if (j > i + 1 && argv[j - 1] == "--") out.head.erase(out.head.begin() + static_cast<long>(j) - 1);  // `run -- IMAGE`
    out.tail.assign(argv.begin() + static_cast<long>(j) + 1, argv.end());
    out.split = true;
    return out;
}

std::string storage_root(const GlobalOptions& g) {
    log::set_verbose(g.debug);
    return g.storage.empty() ? image::Store::default_root().string() : g.storage;
}

std::vector<std::string> insecure_registries(const GlobalOptions& g) {
    auto out = registry::configured_insecure_registries();
    out.insert(out.end(), g.insecure_registries.begin(), g.insecure_registries.end());
    return out;
}

namespace {

std::string read_password(bool from_stdin) {
    std::string pw;
    if (from_stdin || !::isatty(STDIN_FILENO)) {
        std::getline(std::cin, pw);
    } else {
        std::cerr << "Password: " << std::flush;
        termios old{};
        ::tcgetattr(STDIN_FILENO, &old);
        termios quiet = old;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
        std::getline(std::cin, pw);
        ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
        std::cerr << "\n";
    }
    while (!pw.empty() && (pw.back() == '\n' || pw.back() == '\r')) pw.pop_back();
    return pw;
}

// "localhost:5000", "https://index.docker.io/v1/", "docker.io" → registry as in references.
std::string normalize_registry(std::string s) {
    if (auto p = s.find("://"); p != std::string::npos) s = s.substr(p + 3);
    s = s.substr(0, s.find('/'));
    if (s.empty() || s == "index.docker.io" || s == "registry-1.docker.io") return "docker.io";
    return s;
}

}  // namespace

void add_login_commands(CLI::App& app, GlobalOptions& g) {
    struct LoginArgs {
        std::string server, user, password;
        bool password_stdin = false;
    };
    static LoginArgs a;
    auto* login = app.add_subcommand("login", "Log in to a registry (credentials saved in the Docker config.json)");
    login->add_option("server", a.server, "Registry (default docker.io)");
    login->add_option("-u,--username", a.user, "Username");
    login->add_option("-p,--password", a.password, "Password (prefer --password-stdin)");
    login->add_flag("--password-stdin", a.password_stdin, "Read the password from stdin");
    login->callback([&g] {
        storage_root(g);
        std::string reg = normalize_registry(a.server.empty() ? "docker.io" : a.server);
        registry::Credentials c;
        c.username = a.user;
        if (c.username.empty()) {
            std::cerr << "Username: " << std::flush;
            std::getline(std::cin, c.username);
        }
        c.password = a.password.empty() ? read_password(a.password_stdin) : a.password;
        if (c.username.empty() || c.password.empty()) throw Error("login " + reg + ": username and password are required");
        registry::RegistryOptions opts;
        opts.insecure_registries = insecure_registries(g);
        opts.credentials = c;
        registry::RegistryClient client(reg, "", "pull", opts);
        registry::HttpRequest req;
        req.url = "/v2/";
        registry::HttpResponse r;
        try {
            r = client.send(req);
        } catch (const Error& e) {
            throw Error(std::string("login ") + reg + ": " + e.what());
        }
        if (r.status != 200) throw Error("login " + reg + ": registry answered HTTP " + std::to_string(r.status));
        std::string where = registry::store_credentials(reg, c);
        std::cout << "Login Succeeded (credentials saved in " << where << ")\n";
    });

    static std::string logout_server;
    auto* logout = app.add_subcommand("logout", "Remove saved credentials for a registry");
    logout->add_option("server", logout_server, "Registry (default docker.io)");
    logout->callback([&g] {
        storage_root(g);
        std::string reg = normalize_registry(logout_server.empty() ? "docker.io" : logout_server);
        if (registry::erase_credentials(reg))
            std::cout << "Removing login credentials for " << reg << "\n";
        else
            std::cout << "Not logged in to " << reg << "\n";
    });
}

void add_push_command(CLI::App& app, GlobalOptions& g) {
    static std::string source, dest;
    static std::vector<std::string> mount_from;
    static bool quiet = false;
    auto* push = app.add_subcommand("push", "Push an image from the store (or an OCI layout) to a registry");
    push->add_option("image", source, "Image in the store (name or id), or oci:DIR[:TAG]")->required();
    push->add_option("destination", dest, "Where to push (default: the image's own name)");
    push->add_option("--mount-from", mount_from, "Repository on the same registry to mount blobs from")
        ->allow_extra_args(false);
    push->add_flag("-q,--quiet", quiet, "No progress output");
    push->callback([&g] {
        image::Store store(storage_root(g));
        std::unique_ptr<image::ImageSource> from;
        std::string own_name;  // the default destination: the store image's name
        if (auto layout = image::parse_oci_transport(source)) {
            if (dest.empty()) throw Error("push: name a destination for " + source);
            from = image::layout_source(layout->first, layout->second);
        } else {
            auto rec = store.lookup(source);
            if (!rec) throw Error("push: image " + source + " is not in the store");
            own_name = rec->name;
            from = image::store_source(store, rec->name);
        }
        auto ref = image::Reference::parse(dest.empty() ? own_name : dest);
        registry::PushOptions opts;
        opts.registry.insecure_registries = insecure_registries(g);
        opts.progress = quiet ? registry::ProgressMode::quiet : registry::ProgressMode::automatic;
        opts.mount_from = mount_from;
        auto res = registry::push_image(*from, ref, opts);
        if (!quiet)
            std::cout << "Pushed " << res.name << " (" << res.uploaded << " blobs uploaded, " << res.mounted
                      << " mounted, " << res.skipped << " already present)\n";
        std::cout << "Digest: " << res.digest << "\n";
    });
}

namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diag = up;
        }
    }
    return row[b.size()];
}

// The first word of argv that is not a global option or its value: the command typed.
std::string typed_command(const CLI::App& app, int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a.empty() || a[0] != '-') return a;
        if (a.find('=') != std::string::npos) continue;
        const CLI::Option* o = app.get_option_no_throw(a);
        if (o && o->get_type_size_max() > 0) ++i;  // skip the option's value
    }
    return {};
}

}  // namespace

int run_app(CLI::App& app, int argc, char** argv, int error_code) {
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
        std::string prog = app.get_name().empty() ? std::string(argv[0]) : app.get_name();
        prog = prog.substr(prog.find_last_of('/') + 1);
        std::string cmd = typed_command(app, argc, argv);
        // Usage errors are Docker's: one line, then where to look; CLI11's own exit codes
        // (105, 106, 109…) never reach the shell.
        bool known = false;
        try {
            known = app.get_subcommand(cmd) != nullptr;
        } catch (const CLI::Error&) {
        }
        if (!cmd.empty() && !known) {
            std::cerr << "Error: unknown command \"" << cmd << "\" for \"" << prog << "\"\n";
            std::string best;
            size_t best_d = 3;
            for (auto* sc : app.get_subcommands([](CLI::App*) { return true; })) {
                size_t d = edit_distance(cmd, sc->get_name());
                if (d < best_d || (sc->get_name().rfind(cmd, 0) == 0 && best.empty())) best = sc->get_name(), best_d = d;
            }
            if (!best.empty()) std::cerr << "\nDid you mean this?\n\t" << best << "\n";
            std::cerr << "Run '" << prog << " --help' for the list of commands.\n";
            return 2;
        }
        std::string msg = e.what();
        if (msg == "A subcommand is required") msg = "a command is required";
        std::cerr << "Error: " << msg << "\n";
        if (!cmd.empty()) std::cerr << "See '" << prog << " " << cmd << " --help'.\n";
        // run, create and exec report their own failures as 125, as Docker does.
        bool container_start = cmd == "run" || cmd == "create" || cmd == "exec";
        return container_start ? 125 : 2;
    } catch (const std::exception& e) {
        std::cerr << "Error: " << e.what() << "\n";
        return error_code;
    }
    return 0;
}

}  // namespace minirun::cli
