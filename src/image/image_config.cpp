// The typed image config: reading it leniently, writing it in Docker's shape.
#include "minirun/image/image_config.hpp"

#include <nlohmann/json.hpp>

#include "minirun/common/error.hpp"
#include "minirun/image/reference.hpp"

namespace minirun::image {

using json = nlohmann::json;

namespace {

[[noreturn]] void malformed(const std::string& why) { throw Error("malformed image config: " + why); }

std::string text(const json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<std::string> strings(const json& j, const char* key) {
    std::vector<std::string> out;
    auto it = j.find(key);
    if (it == j.end() || !it->is_array()) return out;
    for (auto& v : *it)
        if (v.is_string()) out.push_back(v.get<std::string>());
    return out;
}

// {"80/tcp": {}, …} → its keys (sorted: json objects are ordered maps).
std::vector<std::string> keys(const json& j, const char* key) {
    std::vector<std::string> out;
    auto it = j.find(key);
    if (it == j.end() || !it->is_object()) return out;
    for (auto& [k, v] : it->items()) out.push_back(k);
    return out;
}

int64_t nanoseconds(const json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

ContainerConfig parse_container_config(const json& c) {
    ContainerConfig out;
    out.user = text(c, "User");
    out.exposed_ports = keys(c, "ExposedPorts");
    out.env = strings(c, "Env");
    out.entrypoint = strings(c, "Entrypoint");
    out.cmd = strings(c, "Cmd");
    out.volumes = keys(c, "Volumes");
    out.working_dir = text(c, "WorkingDir");
    if (auto l = c.find("Labels"); l != c.end() && l->is_object())
        for (auto& [k, v] : l->items())
            if (v.is_string()) out.labels[k] = v.get<std::string>();
    out.stop_signal = text(c, "StopSignal");
    if (auto h = c.find("Healthcheck"); h != c.end() && h->is_object()) {
        Healthcheck hc;
        hc.test = strings(*h, "Test");
        hc.interval_ns = nanoseconds(*h, "Interval");
        hc.timeout_ns = nanoseconds(*h, "Timeout");
        hc.start_period_ns = nanoseconds(*h, "StartPeriod");
        hc.start_interval_ns = nanoseconds(*h, "StartInterval");
        auto r = h->find("Retries");
        hc.retries = r != h->end() && r->is_number_integer() ? r->get<int>() : 0;
        out.healthcheck = hc;
    }
    out.on_build = strings(c, "OnBuild");
    out.shell = strings(c, "Shell");
    auto esc = c.find("ArgsEscaped");
    out.args_escaped = esc != c.end() && esc->is_boolean() && esc->get<bool>();
    return out;
}

json set_of(const std::vector<std::string>& items) {
    json o = json::object();
    for (auto& i : items) o[i] = json::object();
    return o;
}

json container_config_object(const ContainerConfig& c) {
    json o = json::object();
    // Docker omits what is unset; the builder's output and inspect read the same.
    if (!c.user.empty()) o["User"] = c.user;
    if (!c.exposed_ports.empty()) o["ExposedPorts"] = set_of(c.exposed_ports);
    if (!c.env.empty()) o["Env"] = c.env;
    if (!c.entrypoint.empty()) o["Entrypoint"] = c.entrypoint;
    if (!c.cmd.empty()) o["Cmd"] = c.cmd;
    if (!c.volumes.empty()) o["Volumes"] = set_of(c.volumes);
    if (!c.working_dir.empty()) o["WorkingDir"] = c.working_dir;
    if (!c.labels.empty()) o["Labels"] = c.labels;
    if (!c.stop_signal.empty()) o["StopSignal"] = c.stop_signal;
    if (c.healthcheck) {
        const auto& h = *c.healthcheck;
        json hc{{"Test", h.test}};
        if (h.interval_ns) hc["Interval"] = h.interval_ns;
        if (h.timeout_ns) hc["Timeout"] = h.timeout_ns;
        if (h.start_period_ns) hc["StartPeriod"] = h.start_period_ns;
        if (h.start_interval_ns) hc["StartInterval"] = h.start_interval_ns;
        if (h.retries) hc["Retries"] = h.retries;
        o["Healthcheck"] = hc;
    }
    if (!c.on_build.empty()) o["OnBuild"] = c.on_build;
    if (!c.shell.empty()) o["Shell"] = c.shell;
    if (c.args_escaped) o["ArgsEscaped"] = true;
    return o;
}

}  // namespace

ImageConfig parse_image_config(std::string_view doc) {
    json j = json::parse(doc, nullptr, false);
    if (j.is_discarded() || !j.is_object()) malformed("not a JSON object");
    ImageConfig c;
    c.platform.os = text(j, "os");
    c.platform.architecture = text(j, "architecture");
    c.platform.variant = text(j, "variant");
    c.created = text(j, "created");
    c.author = text(j, "author");
    if (auto cfg = j.find("config"); cfg != j.end() && cfg->is_object()) c.config = parse_container_config(*cfg);
    auto rootfs = j.find("rootfs");
    if (rootfs == j.end() || !rootfs->is_object()) malformed("missing \"rootfs\"");
    auto ids = rootfs->find("diff_ids");
    if (ids == rootfs->end() || !ids->is_array()) malformed("missing rootfs.diff_ids");
    for (auto& id : *ids) {
        if (!id.is_string() || !is_valid_digest(id.get<std::string>())) malformed("invalid diff_id");
        c.diff_ids.push_back(id.get<std::string>());
    }
    if (auto h = j.find("history"); h != j.end() && h->is_array()) {
        for (auto& e : *h) {
            if (!e.is_object()) continue;
            HistoryEntry he{text(e, "created"), text(e, "created_by"), text(e, "author"), text(e, "comment"), false};
            auto el = e.find("empty_layer");
            he.empty_layer = el != e.end() && el->is_boolean() && el->get<bool>();
            c.history.push_back(he);
        }
    }
    return c;
}

std::string container_config_json(const ContainerConfig& c) { return container_config_object(c).dump(); }

namespace {

// The fields parse_container_config reads belong to c, set or not; the others stay.
void merge_container_object(json& o, const ContainerConfig& c) {
    for (const char* known : {"User", "ExposedPorts", "Env", "Entrypoint", "Cmd", "Volumes", "WorkingDir", "Labels",
                              "StopSignal", "Healthcheck", "OnBuild", "Shell", "ArgsEscaped"})
        o.erase(known);
    o.update(container_config_object(c));
}

json image_config_object(const ImageConfig& c) {
    json j = json::object();
    if (!c.created.empty()) j["created"] = c.created;
    if (!c.author.empty()) j["author"] = c.author;
    j["architecture"] = c.platform.architecture;
    if (!c.platform.variant.empty()) j["variant"] = c.platform.variant;
    j["os"] = c.platform.os;
    j["config"] = container_config_object(c.config);
    j["rootfs"] = {{"type", "layers"}, {"diff_ids", c.diff_ids}};
    if (!c.history.empty()) {
        json h = json::array();
        for (auto& e : c.history) {
            json o = json::object();
            if (!e.created.empty()) o["created"] = e.created;
            if (!e.created_by.empty()) o["created_by"] = e.created_by;
            if (!e.author.empty()) o["author"] = e.author;
            if (!e.comment.empty()) o["comment"] = e.comment;
            if (e.empty_layer) o["empty_layer"] = true;
            h.push_back(o);
        }
        j["history"] = h;
    }
    return j;
}

}  // namespace

std::string merge_container_config(std::string_view config_object, const ContainerConfig& c) {
    json o = json::parse(config_object, nullptr, false);
    if (!o.is_object()) o = json::object();
    merge_container_object(o, c);
    return o.dump();
}

std::string image_config_json(const ImageConfig& c) { return image_config_object(c).dump(); }

std::string merge_image_config(std::string_view document, const ImageConfig& c) {
    json o = json::parse(document, nullptr, false);
    if (!o.is_object()) o = json::object();
    json config = o.contains("config") && o["config"].is_object() ? std::move(o["config"]) : json::object();
    for (const char* known : {"created", "author", "architecture", "variant", "os", "config", "rootfs", "history"})
        o.erase(known);
    merge_container_object(config, c.config);
    json typed = image_config_object(c);
    typed["config"] = std::move(config);
    o.update(typed);
    return o.dump();
}

}  // namespace minirun::image
