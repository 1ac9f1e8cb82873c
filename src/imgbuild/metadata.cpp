// Metadata instructions on the typed config (see metadata.hpp). The history texts keep the
// shape earlier builds wrote, so their cache keys still match.
#include "minirun/imgbuild/metadata.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "minirun/common/error.hpp"
#include "minirun/common/strings.hpp"
#include "minirun/common/units.hpp"
#include "minirun/imgbuild/context.hpp"
#include "minirun/network/ports.hpp"

namespace minirun::imgbuild {

using json = nlohmann::json;

namespace {

// ExposedPorts and Volumes are sets; kept sorted as the JSON objects they become.
void insert_sorted(std::vector<std::string>& set, const std::string& item) {
    auto it = std::lower_bound(set.begin(), set.end(), item);
    if (it == set.end() || *it != item) set.insert(it, item);
}

std::string expand_all(const Expander& x, const std::string& word) { return x.word ? x.word(word) : word; }

}  // namespace

std::vector<std::string> shell_of(const image::ContainerConfig& c) {
    if (!c.shell.empty()) return c.shell;
    return {"/bin/sh", "-c"};
}

std::vector<std::string> command_words(const CommandLine& line, const image::ContainerConfig& c) {
    if (line.exec_form) return line.words;
    auto words = shell_of(c);
    words.push_back(line.words.empty() ? std::string() : line.words.front());
    return words;
}

std::string apply(BuildConfig& b, const WorkdirCommand& w, const Expander& x) {
    std::string dir = expand_all(x, w.path);
    if (dir.empty()) throw Error("WORKDIR needs a path");
    // Docker keeps an absolute path as written ("/w/" stays "/w/") and joins a relative
    // one onto the current directory, cleaned.
    const std::string& base = b.config.working_dir;
    if (dir[0] != '/') dir = "/" + clean_relative((base.empty() ? "/" : base) + "/" + dir);
    b.config.working_dir = dir;
    return "WORKDIR " + dir;
}

std::string apply(BuildConfig& b, const EnvCommand& e, const Expander& x) {
    // Every value expands with the environment from before this ENV (Docker's rule).
    std::vector<KeyValue> expanded;
    for (auto& kv : e.pairs) expanded.push_back({kv.key, expand_all(x, kv.value)});
    std::string text = "ENV";
    for (auto& [key, value] : expanded) {
        set_env_entry(b.config.env, key, value);
        text += " " + key + "=" + value;
    }
    return text;
}

std::string apply(BuildConfig& b, const LabelCommand& l, const Expander& x) {
    std::string text = "LABEL";
    for (auto& kv : l.pairs) {
        std::string key = expand_all(x, kv.key), value = expand_all(x, kv.value);
        b.config.labels[key] = value;
        text += " " + key + "=" + value;
    }
    return text;
}

std::string apply(BuildConfig& b, const UserCommand& u, const Expander& x) {
    b.config.user = expand_all(x, u.user);
    return "USER " + b.config.user;
}

std::string apply(BuildConfig& b, const ExposeCommand& e, const Expander& x) {
    std::string text = "EXPOSE";
    for (auto& arg : e.ports) {
        for (auto& w : x.words ? x.words(arg) : std::vector<std::string>{arg}) {
            auto range = network::parse_port_range(w);
            if (!range) throw Error("EXPOSE: invalid port \"" + w + "\"");
            for (unsigned p = range->first; p <= range->last; ++p)
                insert_sorted(b.config.exposed_ports, std::to_string(p) + "/" + range->protocol);
            // The history keeps the port as written (with its protocol): cache keys depend on it.
            std::string port = w.find('/') == std::string::npos ? w + "/tcp" : lower(w);
            text += " " + port;
        }
    }
    return text;
}

std::string apply(BuildConfig& b, const VolumeCommand& v, const Expander& x) {
    std::string text = "VOLUME";
    for (auto& a : v.paths) {
        std::string path = expand_all(x, a);
        if (path.empty()) throw Error("VOLUME: empty path");
        insert_sorted(b.config.volumes, path);
        text += " " + path;
    }
    return text;
}

std::string apply(BuildConfig& b, const CmdCommand& c, const Expander&) {
    b.config.cmd = command_words(c.command, b.config);
    b.cmd_set = true;
    return "CMD " + json(b.config.cmd).dump();
}

std::string apply(BuildConfig& b, const EntrypointCommand& e, const Expander&) {
    b.config.entrypoint = command_words(e.command, b.config);
    if (!b.cmd_set) b.config.cmd.clear();  // Docker: an inherited CMD does not survive a new ENTRYPOINT
    return "ENTRYPOINT " + json(b.config.entrypoint).dump();
}

std::string apply(BuildConfig& b, const ShellCommand& s, const Expander&) {
    b.config.shell = s.shell;
    return "SHELL " + json(s.shell).dump();
}

std::string apply(BuildConfig& b, const StopSignalCommand& s, const Expander& x) {
    b.config.stop_signal = expand_all(x, s.signal);
    return "STOPSIGNAL " + b.config.stop_signal;
}

std::string apply(BuildConfig& b, const HealthcheckCommand& h, const Expander&) {
    image::Healthcheck hc;
    // The history text is the config's JSON object, as `docker history` shows it.
    json shown;
    if (h.none) {
        hc.test = {"NONE"};
        shown["Test"] = hc.test;
    } else {
        hc.test = h.command.words;
        hc.test.insert(hc.test.begin(), h.command.exec_form ? "CMD" : "CMD-SHELL");
        shown["Test"] = hc.test;
        struct Duration {
            const std::optional<std::string>& value;
            int64_t& target;
            const char* flag;
            const char* field;
        } durations[] = {{h.interval, hc.interval_ns, "interval", "Interval"},
                         {h.timeout, hc.timeout_ns, "timeout", "Timeout"},
                         {h.start_period, hc.start_period_ns, "start-period", "StartPeriod"},
                         {h.start_interval, hc.start_interval_ns, "start-interval", "StartInterval"}};
        for (auto& d : durations) {
            if (!d.value) continue;
            d.target = parse_duration_ns(*d.value, std::string("HEALTHCHECK --") + d.flag);
            shown[d.field] = d.target;
        }
        if (h.retries) {
            const std::string& r = *h.retries;
            if (r.empty() || r.find_first_not_of("0123456789") != std::string::npos || r.size() > 9)
                throw Error("HEALTHCHECK --retries \"" + r + "\": expected a number");
            hc.retries = std::stoi(r);
            shown["Retries"] = hc.retries;
        }
    }
    b.config.healthcheck = hc;
    return "HEALTHCHECK " + shown.dump();
}

std::string apply(BuildConfig& b, const OnbuildCommand& o, const Expander&) {
    b.config.on_build.push_back(o.trigger);
    return "ONBUILD " + o.trigger;
}

std::string apply(BuildConfig& b, const MaintainerCommand& m, const Expander&) {
    b.author = m.name;
    return "MAINTAINER " + m.name;
}

}  // namespace minirun::imgbuild
