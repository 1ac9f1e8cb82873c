#include "minirun/imgbuild/commit.hpp"

#include <algorithm>
#include <ctime>
#include <nlohmann/json.hpp>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/time.hpp"
#include "minirun/engine/container_store.hpp"
#include "minirun/engine/rootfs.hpp"
#include "minirun/image/image_config.hpp"
#include "minirun/image/reference.hpp"
#include "minirun/image/image_source.hpp"
#include "minirun/image/store.hpp"
#include "minirun/image/stored_image.hpp"
#include "minirun/image/unpack.hpp"
#include "minirun/imgbuild/containerfile.hpp"
#include "minirun/imgbuild/instructions.hpp"
#include "minirun/imgbuild/metadata.hpp"

namespace minirun::imgbuild {

namespace stdfs = std::filesystem;
using json = nlohmann::json;

namespace {

std::vector<std::string> strings_of(const json& j) {
    std::vector<std::string> out;
    if (j.is_array())
        for (auto& v : j)
            if (v.is_string()) out.push_back(v.get<std::string>());
    return out;
}

// What the container runs, as Docker's commit keeps it: its env (less the HOSTNAME the
// runtime adds), working dir, command (after the image's entrypoint when it starts with
// it, else as an entrypoint of its own), labels and published ports.
// Returns the process args, which the history records as the step that made the layer.
std::vector<std::string> take_container_config(image::ContainerConfig& c, const engine::ContainerRecord& rec,
                                               const stdfs::path& dir) {
    json spec = json::parse(fs::read_file(dir / "config.json", 16ull << 20), nullptr, false);
    if (!spec.is_object()) throw Error("container " + rec.name + ": its config.json is unreadable");
    const json& process = spec.value("process", json::object());
    std::vector<std::string> env;
    for (auto& e : strings_of(process.value("env", json())))
        if (!e.starts_with("HOSTNAME=")) env.push_back(e);
    c.env = env;
    if (auto cwd = process.value("cwd", std::string()); !cwd.empty() && cwd != "/") c.working_dir = cwd;
    const std::vector<std::string> process_args = strings_of(process.value("args", json()));
    std::vector<std::string> args = process_args;
    // --init runs our reaper first: what the user asked for follows its "--".
    if (auto sep = std::find(args.begin(), args.end(), "--");
        sep != args.end() && !args.empty() && stdfs::path(args[0]).filename() == "minirun-init")
        args.erase(args.begin(), sep + 1);
    const auto& ep = c.entrypoint;
    if (args.size() >= ep.size() && std::equal(ep.begin(), ep.end(), args.begin())) {
        c.cmd.assign(args.begin() + static_cast<long>(ep.size()), args.end());
    } else if (!args.empty()) {
        c.entrypoint = {args[0]};
        c.cmd.assign(args.begin() + 1, args.end());
    }
    for (auto& [k, v] : rec.labels) c.labels[k] = v;
    for (auto& p : rec.ports) {
        std::string port = std::to_string(p.container_port) + "/" + p.protocol;
        auto it = std::lower_bound(c.exposed_ports.begin(), c.exposed_ports.end(), port);
        if (it == c.exposed_ports.end() || *it != port) c.exposed_ports.insert(it, port);
    }
    return process_args;
}

// Docker's --change: the Dockerfile instructions that only set metadata.
void apply_change(BuildConfig& b, const std::string& text) {
    auto refuse = [&](const std::string& why) {
        return Error("--change " + json(text).dump() + ": " + why, ErrorKind::InvalidArgument);
    };
    std::vector<Instruction> parsed;
    try {
        parsed = parse_instructions(text, "--change");
    } catch (const std::exception& e) {
        throw refuse(e.what());
    }
    if (parsed.size() != 1) throw refuse("give one instruction per --change");
    static const std::vector<std::string> allowed = {"CMD",  "ENTRYPOINT", "ENV",    "EXPOSE",  "LABEL",
                                                     "ONBUILD", "USER",    "VOLUME", "WORKDIR", "STOPSIGNAL"};
    if (std::find(allowed.begin(), allowed.end(), parsed[0].keyword) == allowed.end())
        throw refuse(parsed[0].keyword + " cannot be changed by commit (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, "
                                         "USER, VOLUME, WORKDIR, STOPSIGNAL can)");
    Expander x;
    x.word = [](const std::string& w) { return w; };
    x.words = [](const std::string& w) { return std::vector<std::string>{w}; };
    try {
        std::visit(
            [&](const auto& cmd) {
                using T = std::decay_t<decltype(cmd)>;
                if constexpr (std::is_same_v<T, RunCommand> || std::is_same_v<T, CopyCommand> ||
                              std::is_same_v<T, ArgCommand>)
                    throw Error("not a metadata instruction");
                else
                    apply(b, cmd, x);
            },
            to_command(parsed[0]));
    } catch (const Error& e) {
        throw refuse(e.what());
    }
}

// Writes the config, then the manifest (the base's layers and `top`), then the name.
std::string store_image(image::Store& store, const std::string& config_bytes, std::vector<image::Descriptor> layers,
                        const image::Descriptor& top, const image::Platform& platform, const std::string& name) {
    std::string config_digest = store.put_blob(config_bytes);
    image::Manifest m;
    m.media_type = std::string(image::media::kOciManifest);
    m.config = {std::string(image::media::kOciConfig), config_digest, static_cast<int64_t>(config_bytes.size()), {}, {}};
    m.layers = std::move(layers);
    m.layers.push_back(top);
    std::string manifest_bytes = image::manifest_json(m);
    image::Descriptor desc{std::string(image::media::kOciManifest), store.put_blob(manifest_bytes),
                           static_cast<int64_t>(manifest_bytes.size()), platform, {}};
    if (name.empty())
        store.add_unnamed(desc);
    else
        store.set_image(name, desc);
    return config_digest;
}

std::string full_name(const std::string& text) { return text.empty() ? "" : image::Reference::parse(text).str(); }

}  // namespace

std::string commit_container(const CommitOptions& o) {
    image::Store store(o.storage);
    engine::ContainerStore containers(o.storage);
    engine::ContainerRecord rec = containers.find(o.container);
    stdfs::path dir = containers.dir(rec.id);
    std::string name = full_name(o.name);

    auto base_rec = store.lookup(rec.image_id);
    if (!base_rec)
        throw Error("container " + rec.name + ": its image " + rec.image_id + " is no longer in the store",
                    ErrorKind::NotFound);
    image::StoredImage base = image::load_stored_image(store, *base_rec);
    image::ImageConfig cfg = base.config;
    BuildConfig b{cfg.config, cfg.author, false};
    std::vector<std::string> process_args = take_container_config(b.config, rec, dir);
    for (auto& change : o.changes) apply_change(b, change);

    // The changes as a layer: packed from the upper dir (whiteouts become .wh. entries),
    // then unpacked into the store as every pulled layer is.
    image::PackOptions pack;
    pack.compression = o.compression;
    pack.source_date_epoch = static_cast<int64_t>(::time(nullptr));  // whiteout markers dated now
    image::Store::PullGuard guard(store);
    image::PackedLayer layer = image::pack_layer(store, dir / "upper", pack);
    if (!store.has_layer(layer.diff_id)) image::ensure_unpacked(store, layer.blob, layer.diff_id);

    cfg.config = b.config;
    if (!o.author.empty()) cfg.author = o.author;
    cfg.created = rfc3339_now();
    cfg.diff_ids.push_back(layer.diff_id);
    std::string created_by;
    for (auto& a : process_args) created_by += (created_by.empty() ? "" : " ") + a;
    cfg.history.push_back({cfg.created, created_by, o.author, o.message, false});
    return store_image(store, image::merge_image_config(store.read_blob(base.id()), cfg), base.manifest.layers,
                       layer.blob, cfg.platform, name);
}

void export_container(const stdfs::path& storage, const std::string& container, int out_fd) {
    engine::ContainerStore containers(storage);
    engine::ContainerRecord rec = containers.find(container);
    std::string dir = containers.dir(rec.id).string();
    // The overlay as the host sees it: the image and the changes, no volumes or binds.
    if (!engine::rootfs_ready(dir)) engine::mount_rootfs((storage / "layers").string(), rec.layers, dir);
    image::PackOptions o;
    o.source_date_epoch = static_cast<int64_t>(::time(nullptr));
    image::pack_tree(dir + "/rootfs", out_fd, o);
}

std::string import_tarball(const ImportOptions& o, int in_fd) {
    image::Store store(o.storage);
    std::string name = full_name(o.name);
    image::ImageConfig cfg;
    cfg.platform = o.platform.empty() ? image::Platform::host() : image::Platform::parse(o.platform);
    BuildConfig b{cfg.config, "", false};
    for (auto& change : o.changes) apply_change(b, change);
    image::Store::PullGuard guard(store);
    image::PackedLayer layer = image::import_layer(store, in_fd, o.source_name, 64ull << 30);
    cfg.config = b.config;
    cfg.created = rfc3339_now();
    cfg.diff_ids = {layer.diff_id};
    cfg.history.push_back({cfg.created, "", "", o.message.empty() ? "Imported from " + o.source_name : o.message, false});
    return store_image(store, image::image_config_json(cfg), {}, layer.blob, cfg.platform, name);
}

}  // namespace minirun::imgbuild
