// minirun: pull images and (later) run them. A thin front end over the library.
#include <CLI/CLI.hpp>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cdi_flags.hpp"
#include "cli_common.hpp"
#include "minirun_containers.hpp"
#include "minirun_host.hpp"
#include "minirun_volumes.hpp"
#include "listing_rows.hpp"
#include "minirun/engine/list_filters.hpp"
#include "minirun/format/table_format.hpp"
#include "minirun/common/error.hpp"
#include "minirun/common/events.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/units.hpp"
#include "minirun/engine/engine.hpp"
#include "minirun/engine/image_removal.hpp"
#include "minirun/network/networks.hpp"
#include "minirun/engine/system_check.hpp"
#include "minirun/image/image_archive.hpp"
#include "minirun/image/image_source.hpp"
#include "minirun/image/reference.hpp"
#include "minirun/image/store.hpp"
#include "minirun/image/stored_image.hpp"
#include "minirun/registry/progress.hpp"
#include "minirun/registry/pull.hpp"
#include "minirun/compose/apply.hpp"

using namespace minirun;
using json = nlohmann::json;
namespace stdfs = std::filesystem;

namespace {

cli::GlobalOptions g;

image::Store open_store() { return image::Store(cli::storage_root(g)); }

image::ImageRecord require_image(const image::Store& store, const std::string& text) {
    auto rec = store.lookup(text);
    if (!rec) throw Error("image not found: " + text);
    return *rec;
}


void add_pull(CLI::App& app) {
    static std::string ref_text, platform, max_layer;
    static bool quiet = false;
    auto* cmd = app.add_subcommand("pull", "Pull an image from a registry");
    cmd->add_option("image", ref_text,
                    "Image reference (e.g. alpine:3.20, localhost:5000/a/b@sha256:…), or an OCI layout: oci:DIR[:TAG]")
        ->required();
    cmd->add_option("--platform", platform, "os/arch[/variant] (default: this host's)");
    cmd->add_flag("-q,--quiet", quiet, "No progress output");
    cmd->add_option("--max-layer-size", max_layer, "Refuse layers larger than this uncompressed (default 64g)")
        ->envname("MINIRUN_MAX_LAYER_SIZE");
    cmd->callback([] {
        auto store = open_store();
        registry::PullOptions opts;
        if (!max_layer.empty()) opts.max_layer_bytes = parse_size(max_layer, "--max-layer-size");
        if (!platform.empty()) opts.platform = image::Platform::parse(platform);
        opts.progress = quiet ? registry::ProgressMode::quiet : registry::ProgressMode::automatic;
        opts.registry.insecure_registries = cli::insecure_registries(g);
        registry::PullResult res;
        if (auto oci = image::parse_oci_transport(ref_text)) {
            if (!quiet) std::cerr << "Copying " << ref_text << "\n";
            res = registry::pull_layout(store, oci->first, oci->second, opts);
        } else {
            auto ref = image::Reference::parse(ref_text);
            if (!quiet) std::cerr << "Pulling " << ref.str() << "\n";
            res = registry::pull_image(store, ref, opts);
        }
        events::record(cli::storage_root(g), {"image", "pull", res.name, {{"name", res.name}}, 0});
        if (quiet) {
            std::cout << res.name << "\n";
            return;
        }
        std::cout << "Pulled " << res.name << " (" << res.layers_downloaded << " layers downloaded, "
                  << res.layers_present << " already present)\n";
        std::cout << "Digest: " << res.digest << "\n";
    });
}

void add_images(CLI::App& app) {
    static std::string format, reference;
    static bool quiet = false, no_trunc = false, digests = false, all = false;
    static std::vector<std::string> filters;
    auto* cmd = app.add_subcommand("images", "List images in the store");
    cmd->add_option("reference", reference, "Only images whose name matches (repository[:tag], globs allowed)");
    cmd->add_option("--format", format,
                    "A Go template ({{.Repository}}:{{.Tag}}, table …), or json: the records as one array");
    cmd->add_option("-f,--filter", filters, "KEY=VALUE: reference, dangling, label, before, since")->allow_extra_args(false);
    cmd->add_flag("-q,--quiet", quiet, "Only image ids");
    cmd->add_flag("--no-trunc", no_trunc, "Full image ids");
    cmd->add_flag("--digests", digests, "Show the manifest digests");
    cmd->add_flag("-a,--all", all, "Accepted for Docker's scripts (there are no intermediate images to hide)");
    cmd->callback([] {
        auto store = open_store();
        std::vector<std::string> all_filters = filters;
        if (!reference.empty()) all_filters.push_back("reference=" + reference);
        auto parsed = engine::parse_image_filters(all_filters);
        auto images = image::list_image_summaries(store);
        json out = json::array();
        std::vector<json> rows;
        for (auto& img : images) {
            if (!engine::matches(parsed, img, images)) continue;
            if (!img.damaged.empty()) {
                std::cerr << "Warning: image " << (img.name.empty() ? img.digest : img.name) << " is damaged: " << img.damaged
                          << " (minirun system check --repair, or pull it again)\n";
                out.push_back({{"Repository", img.repository}, {"Tag", img.tag}, {"Name", img.name}, {"Digest", img.digest},
                               {"Damaged", img.damaged}});
            } else {
                json row{{"Repository", img.repository}, {"Tag", img.tag}, {"Name", img.name}, {"ID", img.id}, {"Digest", img.digest}};
                if (!img.name.empty()) {  // dangling images list no creation time or size, as before
                    row["Created"] = img.created;
                    row["Size"] = img.size;
                }
                out.push_back(row);
            }
            rows.push_back(cli::image_row(img, !no_trunc));
        }
        if (format == "json") {  // the records as one array, which minirun's tools read
            std::cout << out.dump(2) << "\n";
            return;
        }
        if (quiet) {
            for (auto& r : rows) std::cout << r["ID"].get<std::string>() << "\n";
            return;
        }
        std::cout << format::format_rows(format, cli::image_listing(digests), rows) << std::flush;
    });
}

void add_inspect(CLI::App& app, int& exit_code) {
    static std::vector<std::string> names;
    static std::string format, type;
    auto* cmd = app.add_subcommand("inspect", "Show containers' or images' details as JSON");
    cmd->add_option("name", names, "Container name or id, image reference or id")->required();
    cmd->add_option("-f,--format", format, "A Go template per object ({{.State.Status}}, {{json .Config}})");
    cmd->add_option("--type", type, "container or image: look only for that kind")
        ->check(CLI::IsMember({"container", "image"}));
    cmd->callback([&exit_code] {
        // Docker's order: a container of that name first, then an image; each missing one is
        // an error line, the others still print.
        json found = json::array();
        std::optional<image::Store> store;
        for (auto& n : names) {
            std::optional<std::string> text;
            if (type != "image") text = cli::inspect_container(g, n);
            if (!text && type != "container") {
                if (!store) store.emplace(cli::storage_root(g));
                if (store->lookup(n)) text = image::inspect_images_json(*store, {n});
            }
            if (!text) {
                std::cerr << "Error: no such object: " << n << "\n";
                exit_code = 1;
                continue;
            }
            for (auto& obj : json::parse(*text)) found.push_back(obj);
        }
        if (!format.empty()) {
            for (auto& obj : found) std::cout << format::format_value(format, obj);
        } else if (!found.empty() || exit_code == 0) {
            std::cout << found.dump(4) << "\n";
        }
    });
}

void add_history(CLI::App& app) {
    static std::string name, format;
    static bool no_trunc = false, quiet = false, human = true;
    auto* cmd = app.add_subcommand("history", "Show how an image was built, newest step first");
    cmd->add_option("image", name)->required();
    cmd->add_option("--format", format, "A Go template ({{.CreatedBy}}, table {{.ID}}\\t{{.Size}})");
    cmd->add_flag("--no-trunc", no_trunc, "Full commands and ids");
    cmd->add_flag("-q,--quiet", quiet, "Only the image id");
    cmd->add_flag("-H,--human,!--no-human", human, "Human sizes and dates (the default; accepted for Docker's scripts)");
    cmd->callback([] {
        auto store = open_store();
        auto img = image::load_stored_image(store, require_image(store, name));
        auto rows = cli::history_rows(img, !no_trunc);
        if (quiet) {
            for (auto& r : rows) std::cout << r["ID"].get<std::string>() << "\n";
            return;
        }
        std::cout << format::format_rows(format, cli::history_listing(), rows) << std::flush;
    });
}

void add_tag(CLI::App& app) {
    static std::string src, dst;
    auto* cmd = app.add_subcommand("tag", "Give an image another name");
    cmd->add_option("source", src, "Existing image")->required();
    cmd->add_option("target", dst, "New reference")->required();
    cmd->callback([] {
        auto store = open_store();
        auto rec = require_image(store, src);
        auto ref = image::Reference::parse(dst);
        if (!ref.digest.empty()) throw Error("tag " + dst + ": a tag cannot contain a digest");
        image::Descriptor d = rec.manifest;
        d.annotations.erase(std::string(image::kRefNameAnnotation));
        store.set_image(ref.str(), d);
        events::record(cli::storage_root(g), {"image", "tag", store.image_id(rec), {{"name", ref.str()}}, 0});
    });
}

void add_save(CLI::App& app) {
    static std::vector<std::string> images;
    static std::string output, format = "docker-archive";
    auto* cmd = app.add_subcommand("save", "Write images to a tar archive (docker-archive or oci-archive)");
    cmd->add_option("image", images, "Images (names, references or ids)")->required();
    cmd->add_option("-o,--output", output, "Write to this file (atomically) instead of standard output");
    cmd->add_option("--format", format, "docker-archive (docker save's, default) or oci-archive");
    cmd->callback([] {
        auto fmt = image::parse_archive_format(format);
        auto store = open_store();
        if (output.empty()) {
            if (::isatty(STDOUT_FILENO))
                throw Error("save: refusing to write an archive to a terminal: use -o FILE or redirect the output",
                            ErrorKind::InvalidArgument);
            image::save_images(store, images, fmt, STDOUT_FILENO, "standard output");
            for (auto& i : images) events::record(cli::storage_root(g), {"image", "save", i, {{"name", i}}, 0});
            return;
        }
        stdfs::path out = output;
        fs::TempFile tmp(out.has_parent_path() ? out.parent_path() : stdfs::path("."));
        image::save_images(store, images, fmt, tmp.fd(), output);
        tmp.commit(out);
        for (auto& i : images) events::record(cli::storage_root(g), {"image", "save", i, {{"name", i}}, 0});
    });
}

void add_load(CLI::App& app) {
    static std::string input, max_layer;
    static bool quiet = false;
    auto* cmd = app.add_subcommand("load", "Read images from a tar archive (docker-archive or oci-archive, plain, gzip or zstd)");
    cmd->add_option("-i,--input", input, "Read this file instead of standard input");
    cmd->add_flag("-q,--quiet", quiet, "Print only the loaded names (ids for unnamed images)");
    cmd->add_option("--max-layer-size", max_layer, "Refuse layers larger than this uncompressed (default 64g)")
        ->envname("MINIRUN_MAX_LAYER_SIZE");
    cmd->callback([] {
        auto store = open_store();
        uint64_t max = max_layer.empty() ? registry::PullOptions{}.max_layer_bytes : parse_size(max_layer, "--max-layer-size");
        fs::UniqueFd file;
        int fd = STDIN_FILENO;
        std::string name = "standard input";
        if (!input.empty()) {
            file.reset(::open(input.c_str(), O_RDONLY | O_CLOEXEC));
            if (!file) throw_errno("load: open " + input);
            fd = file.get();
            name = input;
        } else if (::isatty(STDIN_FILENO)) {
            throw Error("load: standard input is a terminal: use -i FILE or redirect an archive in",
                        ErrorKind::InvalidArgument);
        }
        for (auto& img : image::load_images(store, fd, name, max)) {
            events::record(cli::storage_root(g), {"image", "load", img.name.empty() ? img.id : img.name, {{"name", img.name}}, 0});
            if (quiet)
                std::cout << (img.name.empty() ? img.id : img.name) << "\n";
            else if (img.name.empty())
                std::cout << "Loaded image ID: " << img.id << "\n";
            else
                std::cout << "Loaded image: " << image::Reference::parse(img.name).familiar() << "\n";
        }
    });
}

void print_removal(const engine::RmiOutcome& out, int& exit_code) {
    for (auto& v : out.untagged) std::cout << "Untagged: " << v << "\n";
    for (auto& e : out.errors) std::cerr << "Error: " << e << "\n";
    std::cout << "Deleted: " << out.collected << " unreferenced blobs and layers\n";
    if (!out.errors.empty()) exit_code = 1;
}

void add_rmi(CLI::App& app, int& exit_code) {
    static std::vector<std::string> names;
    static bool force = false;
    auto* cmd = app.add_subcommand("rmi", "Remove images, and the blobs and layers nothing else uses");
    cmd->add_option("image", names, "Image reference or id")->required();
    cmd->add_flag("-f,--force", force, "Remove every name of an image given by id; untag an image in use");
    cmd->callback([&exit_code] {
        auto store = open_store();
        print_removal(engine::remove_images(store, cli::storage_root(g), names, force), exit_code);
    });
}

// `GROUP prune [-a] [-f]` as Docker spells it (image, system, builder); -f is accepted
// for Docker's scripts: there is never a prompt.
CLI::App* add_prune(CLI::App& group, const char* help, bool& all, const char* all_help) {
    static bool yes = false;
    auto* prune = group.add_subcommand("prune", help);
    prune->add_flag("-a,--all", all, all_help);
    prune->add_flag("-f,--force", yes, "Do not prompt (there is no prompt; accepted for Docker's scripts)");
    return prune;
}

void add_image_prune(CLI::App& app, int& exit_code) {
    static bool all = false;
    auto* image = app.add_subcommand("image", "Manage images");
    image->require_subcommand(1);
    // Spelled as Docker spells them; main() turns them into the verbs before parsing.
    image->add_subcommand("ls", "List images (images); also: list");
    image->add_subcommand("rm", "Remove images (rmi)");
    image->add_subcommand("inspect", "Show images' details (inspect --type image)");
    image->add_subcommand("pull", "Pull an image (pull)");
    image->add_subcommand("push", "Push an image (push)");
    image->add_subcommand("tag", "Name an image (tag)");
    image->add_subcommand("history", "Show how an image was built (history)");
    image->add_subcommand("save", "Write images to a tar archive (save)");
    image->add_subcommand("load", "Read images from a tar archive (load)");
    image->add_subcommand("import", "Make an image of a root filesystem tar (import)");
    auto* prune = add_prune(*image, "Remove unused images and unreferenced blobs and layers", all,
                            "Every image no container uses, not only unnamed ones");
    prune->callback([&exit_code] {
        auto store = open_store();
        print_removal(engine::prune_images(store, cli::storage_root(g), all), exit_code);
    });
}

void add_system(CLI::App& app, int& exit_code) {
    static bool repair = false, all = false;
    auto* sys = app.add_subcommand("system", "Check and clean the store");
    sys->require_subcommand(1);
    auto* check = sys->add_subcommand("check", "Verify every blob, image, layer and container record");
    check->add_flag("--repair", repair, "Remove what is damaged so that the next pull fetches it again");
    check->callback([&exit_code] {
        auto rep = engine::check_system(cli::storage_root(g), repair);
        for (auto& f : rep.findings)
            std::cout << (f.repaired ? "repaired: " : "problem:  ") << f.where << ": " << f.problem << " (" << f.action
                      << ")\n";
        std::cout << "checked " << rep.blobs << " blobs, " << rep.images << " images, " << rep.layers << " layers ("
                  << rep.layers_verified << " against their blob), "
                  << rep.containers << " containers: "
                  << (rep.findings.empty() ? "no problems" : std::to_string(rep.findings.size()) + " problems") << "\n";
        if (!rep.clean()) exit_code = 1;
    });
    static std::string df_format;
    auto* df = sys->add_subcommand("df", "Disk space taken by images, containers, volumes and the build cache");
    static bool df_verbose = false;
    df->add_option("--format", df_format, "A Go template ({{.Type}} {{.Size}} {{.Reclaimable}}, table …; with -v over {{.Images}} {{.Containers}} {{.Volumes}} {{.BuildCache}})");
    df->add_flag("-v,--verbose", df_verbose, "Each image, container, volume and build cache step with its size");
    df->callback([] {
        std::string root = cli::storage_root(g);
        registry::RegistryOptions ro;
        auto containers = engine::Engine(root, ro).ps(true);
        std::vector<engine::ContainerRecord> recs;
        for (auto& r : containers) recs.push_back(r.rec);
        if (df_verbose) {
            auto store = open_store();
            auto detail = engine::disk_usage_detail(store, root, recs);
            json all = cli::disk_usage_detail_rows(detail, image::list_image_summaries(store), containers,
                                                    engine::VolumeStore(root).list());
            if (!df_format.empty()) {  // Docker: the template sees the four lists at once
                std::cout << format::format_rows(df_format, format::Listing{}, {all}) << std::flush;
                return;
            }
            auto section = [&](const char* title, const char* key) {
                std::cout << title << "\n\n"
                          << format::format_rows("", cli::disk_usage_section(key), all[key].get<std::vector<json>>()) << "\n";
            };
            section("Images space usage:", "Images");
            section("Containers space usage:", "Containers");
            section("Local Volumes space usage:", "Volumes");
            std::cout << "Build cache usage: " << cli::docker_size(static_cast<double>(detail.build_cache_size)) << "\n\n"
                      << format::format_rows("", cli::disk_usage_section("BuildCache"), all["BuildCache"].get<std::vector<json>>())
                      << std::flush;
            return;
        }
        std::vector<json> rows;
        for (auto& r : engine::disk_usage(open_store(), root, recs)) rows.push_back(cli::disk_usage_row(r));
        std::cout << format::format_rows(df_format, cli::disk_usage_listing(), rows) << std::flush;
    });
    auto* prune = add_prune(*sys, "Remove stopped containers, then unused images and content", all,
                            "Every image no container uses, not only unnamed ones");
    prune->callback([&exit_code] {
        registry::RegistryOptions ro;
        auto removed = engine::Engine(cli::storage_root(g), ro).prune();
        std::cout << "Deleted Containers:\n";
        for (auto& id : removed) std::cout << id << "\n";
        // User networks no container is attached to (the built-in three always stay).
        network::Networks nets(std::filesystem::path(cli::storage_root(g)) / "networks");
        std::cout << "Deleted Networks:\n";
        for (auto& n : nets.list()) {
            if (n.name == "bridge" || n.name == "host" || n.name == "none" || !n.containers.empty()) continue;
            try {
                nets.remove(n.name);
                events::record(cli::storage_root(g), {"network", "destroy", n.id, {{"name", n.name}, {"type", "bridge"}}, 0});
                std::cout << n.name << "\n";
            } catch (const Error& e) {
                std::cerr << "Error: " << e.what() << "\n";
                exit_code = 1;
            }
        }
        auto store = open_store();
        size_t steps = engine::prune_build_cache(store);
        std::cout << "Deleted build cache: " << steps << " steps\n";
        print_removal(engine::prune_images(store, cli::storage_root(g), all), exit_code);
    });
}

compose::Project load_compose(const std::string& file, const std::string& project,
                              const std::vector<std::string>& profiles = {}) {
    compose::LoadOptions lo;
    lo.project_name = project;
    lo.profiles = profiles;
    lo.environment = compose::process_environment();
    auto p = compose::load_project(file.empty() ? compose::find_compose_file(".") : std::filesystem::path(file), lo);
    for (auto& w : p.warnings) std::cerr << "WARN: " << w << "\n";
    return p;
}

void print_actions(const compose::ApplyResult& r, const std::string& format, int& exit_code) {
    if (format == "json") {
        std::cout << r.to_json() << "\n";
    } else {
        for (auto& a : r.actions)
            std::cout << a.service << ": " << a.action << (a.error.empty() ? "" : ": " + a.error) << "\n";
    }
    for (auto& a : r.actions)
        if (!a.error.empty()) std::cerr << "Error: service " << a.service << ": " << a.error << "\n";
    if (!r.ok()) exit_code = 1;
}

void add_apply(CLI::App& app, int& exit_code) {
    static std::string file, project, format = "text";
    static compose::ApplyOptions o;
    static bool no_orphans = false, volumes = false;
    static std::vector<std::string> profiles;
    auto* apply = app.add_subcommand("apply", "Make this host run exactly the services of a Compose file (idempotent)");
    apply->add_option("-f,--file", file, "compose.yaml / docker-compose.yml (default: found in the current directory)");
    apply->add_option("-p,--project-name", project, "Project name (default: name:, $COMPOSE_PROJECT_NAME or the directory)");
    apply->add_option("--pull", o.pull, "missing (default) | always | never");
    apply->add_flag("--build", o.build, "Rebuild images that have a build: section");
    apply->add_flag("--dry-run", o.dry_run, "Say what would change, change nothing");
    apply->add_flag("--no-remove-orphans", no_orphans, "Keep containers of services no longer declared");
    apply->add_option("--wait-timeout", o.wait_timeout_s, "Seconds to wait for each depends_on condition");
    apply->add_option("--format", format, "text (default) or json");
    apply->add_option("--profile", profiles, "Enable services of this profile (repeatable; default $COMPOSE_PROFILES)")
        ->allow_extra_args(false);
    apply->add_option("service", o.services, "Only these services (and their dependencies)");
    apply->callback([&exit_code] {
        auto p = load_compose(file, project, profiles);
        o.remove_orphans = !no_orphans;
        o.registry.insecure_registries = cli::insecure_registries(g);
        engine::Engine e(cli::storage_root(g), o.registry);
        o.resolve_devices = [](engine::RunRequest& r) { cli::apply_cdi_devices(r, ""); };
        print_actions(compose::apply(e, cli::storage_root(g), p, o), format, exit_code);
    });
    auto* down = app.add_subcommand("down", "Stop and remove the containers and networks of a Compose project");
    down->add_option("-f,--file", file, "compose.yaml / docker-compose.yml");
    down->add_option("-p,--project-name", project, "Project name");
    down->add_flag("-v,--volumes", volumes, "Also remove the project's named volumes");
    down->add_option("--format", format, "text (default) or json");
    down->callback([&exit_code] {
        std::string name = project;
        if (name.empty()) name = compose::project_name_of(file.empty() ? compose::find_compose_file(".") : std::filesystem::path(file));
        engine::Engine e(cli::storage_root(g), {});
        print_actions(compose::down(e, cli::storage_root(g), compose::normalize_project_name(name), volumes), format,
                      exit_code);
    });
}

void add_builder_prune(CLI::App& app) {
    static bool all = false;
    auto* builder = app.add_subcommand("builder", "Manage imgbuild's build cache");
    builder->require_subcommand(1);
    auto* prune = add_prune(*builder, "Remove the build cache, then what only it kept", all,
                            "Accepted for Docker's scripts (the whole cache always goes)");
    prune->callback([] {
        auto store = open_store();
        size_t steps = engine::prune_build_cache(store);
        size_t collected = store.garbage_collect(engine::gc_roots(store));
        std::cout << "Deleted build cache: " << steps << " steps, " << collected << " blobs and layers\n";
    });
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"minirun: pull and run OCI images without a daemon"};
    app.set_version_flag("--version", std::string("minirun ") + cli::kVersion);
    app.require_subcommand(1);
    cli::add_global_options(app, g);
    add_pull(app);
    add_images(app);
    int exit_code = 0;
    add_inspect(app, exit_code);
    add_tag(app);
    add_history(app);
    add_save(app);
    add_load(app);
    add_rmi(app, exit_code);
    add_image_prune(app, exit_code);
    add_system(app, exit_code);
    add_builder_prune(app);
    add_apply(app, exit_code);
    cli::add_login_commands(app, g);
    cli::add_push_command(app, g);
    // Docker's `container ls`, `image rm`, … spelled as minirun's verbs.
    std::vector<std::string> words = cli::docker_aliases(std::vector<std::string>(argv, argv + argc));
    cli::hand_over_to_imgbuild(words);
    // Listed for --help; hand_over_to_imgbuild runs them.
    app.add_subcommand("commit", "Make an image of a container's changes (runs imgbuild commit)");
    app.add_subcommand("export", "Write a container's root filesystem as a tar (runs imgbuild export)");
    app.add_subcommand("import", "Make a one-layer image of a root filesystem tar (runs imgbuild import)");
    cli::add_container_commands(app, g, exit_code);
    cli::add_host_commands(app, g, exit_code);
    cli::add_volume_commands(app, g, exit_code);
    // run's and exec's command is everything after the image or container, as in Docker:
    // the parser sees only what comes before.
    cli::CommandSplit split = cli::split_command_tail(app, words, {"run", "create", "exec"});
    if (split.split) {
        cli::set_command_tail(split.tail);
        words = split.head;
    }
    std::vector<char*> rewritten;
    for (auto& w : words) rewritten.push_back(w.data());
    rewritten.push_back(nullptr);
    argc = static_cast<int>(words.size());
    argv = rewritten.data();
    cli::set_raw_args(argc, argv);
    int rc = cli::run_app(app, argc, argv, 1);
    return rc != 0 ? rc : exit_code;
}
