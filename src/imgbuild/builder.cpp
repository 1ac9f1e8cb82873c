// The build executor: stages, instructions, cache, image assembly.
#include "minirun/imgbuild/builder.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

#include "build_internal.hpp"
#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/log.hpp"
#include "minirun/common/process.hpp"
#include "minirun/common/sha256.hpp"
#include "minirun/common/strings.hpp"
#include "minirun/common/time.hpp"
#include "minirun/common/units.hpp"
#include "minirun/engine/image_config.hpp"
#include "minirun/image/build_cache.hpp"
#include "minirun/image/reference.hpp"
#include "minirun/image/store.hpp"
#include "minirun/image/stored_image.hpp"
#include "minirun/image/unpack.hpp"
#include "minirun/imgbuild/build_plan.hpp"
#include "minirun/imgbuild/containerfile.hpp"
#include "minirun/imgbuild/context.hpp"
#include "minirun/imgbuild/copy.hpp"
#include "minirun/imgbuild/instructions.hpp"
#include "minirun/imgbuild/metadata.hpp"
#include "minirun/imgbuild/secrets.hpp"
#include "minirun/imgbuild/ssh_agent.hpp"
#include "minirun/imgbuild/shell_expand.hpp"
#include "minirun/registry/pull.hpp"
#include "minirun/runtime/spec.hpp"
#include "build_output.hpp"

namespace minirun::imgbuild {

using json = nlohmann::json;
using image::BuildCache;
using detail::Layer;
using detail::StepRoot;
using image::step_key;
namespace stdfs = std::filesystem;

namespace {

const std::set<std::string> kProxyArgs = {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
                                          "ftp_proxy",  "NO_PROXY",   "no_proxy",    "ALL_PROXY",   "all_proxy"};

std::string oci_layer_type(const std::string& t) {
    if (t == image::media::kDockerLayerGzip) return std::string(image::media::kOciLayerGzip);
    if (t == image::media::kDockerForeignLayer) return "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
    return t;
}

struct ImageState {
    // The base's config document, for the keys the typed model does not hold: they pass
    // through unchanged (merge_image_config). The typed parts below own everything else.
    std::string document = "{}";
    image::Platform platform;
    BuildConfig meta;  // the container config and the author
    std::vector<image::HistoryEntry> history;
    std::vector<Layer> layers;
    std::string chain;  // cache chain key of the last step
};

// A base's config document without what described the container that built it.
std::string without_build_leftovers(const std::string& document) {
    json o = json::parse(document, nullptr, false);
    if (!o.is_object()) return "{}";
    for (const char* key : {"container_config", "container", "docker_version"}) o.erase(key);
    return o.dump();
}

std::vector<std::string> diff_ids_of(const ImageState& s) {
    std::vector<std::string> out;
    for (auto& l : s.layers) out.push_back(l.diff_id);
    return out;
}

// A relative path against WORKDIR, as RUN --mount targets and COPY destinations take it.
std::string in_workdir(const ImageState& s, const std::string& path) {
    if (!path.empty() && path[0] == '/') return path;
    const std::string& wd = s.meta.config.working_dir;
    return (wd.empty() ? "/" : wd) + "/" + path;
}

std::string join_words(const std::vector<std::string>& v, const char* sep = " ") {
    std::string out;
    for (auto& w : v) out += (out.empty() ? "" : sep) + w;
    return out;
}

struct StageCtx {
    const Stage* stage = nullptr;
    ImageState st;
    std::map<std::string, std::optional<std::string>> args;  // declared ARGs (unset: nullopt)
};

// What one RUN step's --mounts hold while it runs, released when the step ends (also
// when it fails): per-step state, so it lives with the step and not in the Builder.
struct RunMounts {
    std::vector<std::unique_ptr<SecretFile>> secret_files;  // written for the step
    std::vector<std::unique_ptr<SshRelay>> ssh_relays;      // RUN --mount=type=ssh sockets
    std::vector<std::unique_ptr<StepRoot>> roots;           // read-only stage views
    std::vector<std::string> copies;                        // filtered context copies
    std::vector<std::function<void()>> pending;             // ... made when the step runs (not on a cache hit)
    RunMounts() = default;
    RunMounts(const RunMounts&) = delete;
    RunMounts& operator=(const RunMounts&) = delete;
    ~RunMounts() {
        for (auto& d : copies) {
            try {
                if (stdfs::exists(d)) image::remove_tree(d);
            } catch (...) {
            }
        }
    }
};

// The default: BuildProgress's hooks do nothing and keep no state, so one serves all.
BuildProgress& silent_progress() {
    static BuildProgress silent;
    return silent;
}

class Builder {
public:
    explicit Builder(const BuildOptions& o)
        : o_(o),
          progress_(o.progress ? *o.progress : silent_progress()),
          store_(o.storage),
          cache_(store_),
          pack_{image::parse_compression(o.compression), o.source_date_epoch} {}

    BuildResult run();

private:
    void load();
    ImageState& ensure_stage(size_t idx);
    void build_stage(size_t idx);
    ImageState from_base(const Stage& stage);
    ImageState load_image(const std::string& name);
    void execute(StageCtx& c, const Instruction& ins, const Command& command, bool trigger);
    Expander expander(StageCtx& c);
    Command typed_command(const Instruction& ins) const;
    ShellEnv expansion_env(StageCtx& c);
    // A read-only view of an earlier stage (name or index) or an image, for COPY --from and
    // RUN --mount from=; its chain joins the step's cache key.
    std::unique_ptr<StepRoot> from_view(StageCtx& c, const std::string& from, std::string& key);
    std::string expand(StageCtx& c, const std::string& word) { return lexer_.process_word(word, expansion_env(c)); }

    // Steps.
    void metadata_step(StageCtx& c, const std::string& text);
    void fs_step(StageCtx& c, const std::string& key_text, const std::string& history,
                 const std::function<void(StepRoot&)>& work);
    void run_instruction(StageCtx& c, const Instruction& ins, const RunCommand& run);
    void copy_instruction(StageCtx& c, const Instruction& ins, const CopyCommand& copy);
    void workdir_instruction(StageCtx& c, const WorkdirCommand& w);
    void arg_instruction(StageCtx& c, const ArgCommand& a);
    void add_history(ImageState& s, const std::string& created_by, bool empty);

    std::string context_digest(const SourceTree& tree, const std::string& rel, bool stat_cache);
    runtime::Mount run_mount(StageCtx& c, RunMounts& held, const std::string& spec, std::map<std::string, std::string> kv,
                             std::string& key);
    // RUN --mount=type=secret: the file to bind (none when only env= or the secret is absent).
    std::optional<runtime::Mount> secret_mount(StageCtx& c, RunMounts& held, const std::string& spec,
                                               const std::map<std::string, std::string>& kv, std::vector<std::string>& env);
    std::map<std::string, std::string> secrets_;  // imgbuild build --secret
    // RUN --mount=type=ssh: the step's relay to an agent (none when the optional id is absent).
    std::optional<runtime::Mount> ssh_mount(StageCtx& c, RunMounts& held, const std::string& spec,
                                            const std::map<std::string, std::string>& kv, size_t index,
                                            std::vector<std::string>& env);
    std::unique_ptr<SshAgents> ssh_;  // imgbuild build --ssh
    void step_header(const std::string& text);
    void step_done(bool cached);
    BuildResult commit_image(ImageState& s);

    const BuildOptions& o_;
    BuildProgress& progress_;
    image::Store store_;
    BuildCache cache_;
    image::PackOptions pack_;
    BuildPlan plan_;  // decided before anything runs
    ShellLexer lexer_;
    stdfs::path context_;
    IgnoreMatcher ignore_;
    fs::UniqueFd context_fd_;
    std::map<size_t, ImageState> built_;
    size_t step_ = 0;
    uint64_t cached_ = 0, executed_ = 0;
    std::chrono::steady_clock::time_point step_start_;
    std::string location_;  // "file:line" of the instruction being run, for errors
};

// ---- loading and planning ----

void Builder::load() {
    context_ = stdfs::absolute(o_.context);
    if (!stdfs::is_directory(context_)) throw Error("build context " + o_.context.string() + " is not a directory");
    stdfs::path file = o_.containerfile;
    if (o_.containerfile_text) {  // -f -: no file; the context's own .dockerignore applies
        file = context_ / "Containerfile";
        plan_ = plan_build(parse_containerfile(*o_.containerfile_text, "stdin"), PlanRequest{o_.build_args, o_.target, o_.platform});
    } else {
        if (file.empty())
            file = stdfs::exists(context_ / "Containerfile") ? context_ / "Containerfile" : context_ / "Dockerfile";
        if (!stdfs::exists(file)) throw Error("no Containerfile or Dockerfile in " + context_.string() + " (use -f)");
        plan_ = plan_build(load_containerfile(file), PlanRequest{o_.build_args, o_.target, o_.platform});
    }
    lexer_ = plan_.lexer();
    ignore_ = load_ignore_file(context_, file);
    context_fd_.reset(::open(context_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!context_fd_) throw_errno("open build context " + context_.string());
    secrets_ = load_secrets(o_.secrets);
    ssh_ = std::make_unique<SshAgents>(o_.ssh);
}

// ---- images ----

ImageState Builder::load_image(const std::string& name) {
    registry::PullOptions po;
    po.registry = o_.registry;
    po.progress = progress_.pull_progress();
    if (!o_.platform.empty()) po.platform = image::Platform::parse(o_.platform);
    image::ImageRecord rec =
        registry::ensure_image(store_, name, registry::parse_pull_policy(o_.pull), po, {}, location_);
    image::StoredImage img = image::load_stored_image(store_, rec);
    const image::Manifest& m = img.manifest;
    const auto& diff_ids = img.config.diff_ids;
    ImageState s;
    // Kept as the whole document too: fields the typed model does not know pass through to
    // the built image unchanged.
    s.document = store_.read_blob(img.id());
    s.platform = img.config.platform;
    s.history = img.config.history;
    s.meta.config = img.config.config;
    s.meta.author = img.config.author;
    if (diff_ids.size() != m.layers.size()) throw Error("image " + name + ": config and manifest disagree on the layer count");
    image::require_layers(store_, img);
    for (size_t i = 0; i < m.layers.size(); ++i) {
        Layer l{m.layers[i], diff_ids[i]};
        l.blob.media_type = oci_layer_type(l.blob.media_type);
        l.blob.platform.reset();
        s.layers.push_back(l);
    }
    s.chain = "image:" + rec.manifest.digest;
    return s;
}

ImageState Builder::from_base(const Stage& stage) {
    std::string name = lexer_.process_word(stage.base_image, plan_.meta_env());
    if (name.empty()) throw Error(location_ + ": FROM names no image (\"" + stage.base_image + "\" expands to nothing)");
    if (auto r = plan_.stage_ref(name, static_cast<size_t>(stage.index))) return ensure_stage(*r);
    if (lower(name) == "scratch") {
        image::Platform p = o_.platform.empty() ? image::Platform::host() : image::Platform::parse(o_.platform);
        ImageState s;
        s.platform = p;
        s.chain = "scratch:" + p.str();
        return s;
    }
    return load_image(name);
}

ImageState& Builder::ensure_stage(size_t idx) {
    if (!built_.count(idx)) build_stage(idx);
    return built_.at(idx);
}

// ---- steps ----

void Builder::step_header(const std::string& text) {
    ++step_;
    step_start_ = std::chrono::steady_clock::now();
    progress_.step_started(step_, plan_.total_steps, text);
}

void Builder::step_done(bool cached) {
    progress_.step_finished(cached, std::chrono::duration<double>(std::chrono::steady_clock::now() - step_start_).count());
}

void Builder::add_history(ImageState& s, const std::string& created_by, bool empty) {
    s.history.push_back({rfc3339_seconds(o_.source_date_epoch), created_by, "", "imgbuild", empty});
}

void Builder::metadata_step(StageCtx& c, const std::string& text) {
    c.st.chain = sha256_digest(c.st.chain + "\n" + text);
    add_history(c.st, text, true);
}

void Builder::fs_step(StageCtx& c, const std::string& key_text, const std::string& history,
                      const std::function<void(StepRoot&)>& work) {
    std::string key = step_key({c.st.chain, key_text, o_.compression, o_.source_date_epoch});
    std::optional<Layer> layer;
    bool cached = false;
    if (!o_.no_cache) {
        if (auto hit = cache_.find(key)) {
            layer = *hit;
            cached = true;
        }
    }
    if (!cached) {
        StepRoot root(store_, diff_ids_of(c.st), true);
        work(root);
        if (root.changed()) layer = root.commit(pack_);
        cache_.remember(key, layer);
        ++executed_;
    } else {
        ++cached_;
    }
    if (layer) c.st.layers.push_back(*layer);
    add_history(c.st, history, !layer);
    c.st.chain = key;
    step_done(cached);
}

std::unique_ptr<StepRoot> Builder::from_view(StageCtx& c, const std::string& from, std::string& key) {
    ImageState loaded;
    const ImageState* s = nullptr;
    if (auto r = plan_.stage_ref(from, static_cast<size_t>(c.stage->index))) s = &ensure_stage(*r);
    else s = &(loaded = load_image(from));
    key += " from=" + s->chain;
    return std::make_unique<StepRoot>(store_, diff_ids_of(*s), false);
}

ShellEnv Builder::expansion_env(StageCtx& c) {
    ShellEnv env;
    for (auto& [k, v] : c.args)
        if (v) env[k] = *v;
    for (auto& e : c.st.meta.config.env) {
        auto eq = e.find('=');
        env[e.substr(0, eq)] = eq == std::string::npos ? "" : e.substr(eq + 1);
    }
    return env;
}

// "type=cache,target=/x,ro": keys lowercased; a bare word (ro, required) is "true".
static std::map<std::string, std::string> mount_options(const std::string& spec) {
    std::map<std::string, std::string> kv;
    std::stringstream in(spec);
    for (std::string part; std::getline(in, part, ',');) {
        auto eq = part.find('=');
        kv[lower(part.substr(0, eq))] = eq == std::string::npos ? "true" : part.substr(eq + 1);
    }
    return kv;
}

// RUN --mount=type=bind|cache|tmpfs,... (BuildKit's syntax). Bind sources come from the
// context or an earlier stage/image, read-only, and key the step by their content; cache
// dirs persist under the storage across builds and never key it; tmpfs is scratch.
runtime::Mount Builder::run_mount(StageCtx& c, RunMounts& held, const std::string& spec,
                                  std::map<std::string, std::string> kv, std::string& key) {
    std::string type = kv.count("type") ? kv["type"] : "bind";
    std::string target = kv.count("target") ? kv["target"] : kv.count("dst") ? kv["dst"] : kv["destination"];
    if (target.empty()) throw Error(location_ + ": RUN --mount=" + spec + ": no target");
    target = "/" + clean_relative(in_workdir(c.st, target));
    bool ro = kv.count("ro") || kv.count("readonly");
    if (type == "tmpfs") {
        std::vector<std::string> opts = {"nosuid", "nodev", "mode=1777"};
        if (kv.count("size")) opts.push_back("size=" + kv["size"]);
        key += " tmpfs:" + target;
        return {target, "tmpfs", "tmpfs", opts};
    }
    if (type == "cache") {
        std::string id = kv.count("id") ? kv["id"] : target;
        stdfs::path dir = o_.storage / "cache/run-mounts" / sha256_digest(id).substr(7, 32);
        if (!stdfs::exists(dir)) {
            fs::mkdir_p(dir);
            unsigned long mode = kv.count("mode") ? std::strtoul(kv["mode"].c_str(), nullptr, 8) : 0755;
            ::chmod(dir.c_str(), static_cast<mode_t>(mode));
            if (kv.count("uid") || kv.count("gid"))
                (void)!::chown(dir.c_str(), static_cast<uid_t>(std::stoul(kv.count("uid") ? kv["uid"] : "0")),
                                static_cast<gid_t>(std::stoul(kv.count("gid") ? kv["gid"] : "0")));
        }
        key += " cache:" + target;
        std::vector<std::string> opts = {"rbind", "rprivate"};
        if (ro) opts.push_back("ro");
        return {target, "bind", dir.string(), opts};
    }
    if (type != "bind") throw Error(location_ + ": RUN --mount type=" + type + " is not supported (use bind, cache, tmpfs, secret or ssh)");
    if (kv.count("rw") || kv.count("readwrite"))
        throw Error(location_ + ": RUN --mount type=bind,rw is not supported: bind mounts are read-only");
    std::string source = kv.count("source") ? kv["source"] : kv["src"];
    SourceTree tree{context_fd_.get(), &ignore_, "build context"};
    if (kv.count("from")) {
        std::string from = lexer_.process_word(kv["from"], expansion_env(c));
        held.roots.push_back(from_view(c, from, key));
        tree = SourceTree{held.roots.back()->root_fd(), nullptr, "stage or image " + from};
    }
    std::string rel = clean_relative(source);
    auto matched = expand_source(tree, rel.empty() ? "." : rel);
    if (!kv.count("from")) key += " bind:" + target + "=" + context_digest(tree, matched.at(0), true);
    if (!kv.count("from") && !ignore_.empty()) {
        // The context as the build sees it: ignored files must not show through a bind.
        std::string copy = (store_.temp_dir() / (std::string(fs::kTempPrefix) + fs::unique_suffix() + "-mount")).string();
        held.copies.push_back(copy);
        bool dir = source_is_dir(tree, matched.at(0));
        // Made only when the step runs: a cache hit copies nothing.
        held.pending.push_back([this, copy, dir, rel = matched.at(0)] {
            fs::mkdir_p(copy);
            fs::UniqueFd dst(::open(copy.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
            SourceTree ctx{context_fd_.get(), &ignore_, "build context"};
            copy_source(ctx, rel, dst.get(), dir ? "/" : "/content", false, CopyAttrs{});
        });
        return {target, "bind", dir ? copy : copy + "/content", {"rbind", "rprivate", "ro"}};
    }
    // The resolved path, opened inside its root, is what gets mounted.
    fs::UniqueFd fd(fs::open_in_root(tree.root_fd, matched.at(0).empty() ? "." : matched.at(0), O_PATH));
    if (!fd) throw_errno("RUN --mount source " + source);
    std::string resolved = stdfs::read_symlink("/proc/self/fd/" + std::to_string(fd.get())).string();
    return {target, "bind", resolved, {"rbind", "rprivate", "ro"}};
}

std::optional<runtime::Mount> Builder::secret_mount(StageCtx& c, RunMounts& held, const std::string& spec,
                                                   const std::map<std::string, std::string>& kv,
                                                   std::vector<std::string>& env) {
    SecretMountSpec s;
    try {
        s = parse_secret_mount(kv);
    } catch (const std::invalid_argument& e) {
        throw Error(location_ + ": RUN --mount=" + spec + ": " + e.what());
    }
    auto found = secrets_.find(s.id);
    if (found == secrets_.end()) {
        if (s.required)
            throw Error(location_ + ": RUN --mount=" + spec + ": no secret " + s.id + " was given (imgbuild build --secret id=" +
                        s.id + ",src=FILE)");
        return std::nullopt;  // as BuildKit: an optional secret that is absent is simply not there
    }
    if (!s.env.empty()) env.push_back(s.env + "=" + found->second);
    if (s.target.empty()) return std::nullopt;
    std::string target = in_workdir(c.st, s.target);
    held.secret_files.push_back(std::make_unique<SecretFile>(found->second, s, store_.temp_dir()));
    return runtime::Mount{"/" + clean_relative(target), "bind", held.secret_files.back()->path().string(),
                          {"bind", "rprivate", "ro", "nosuid", "nodev", "noexec"}};
}

std::optional<runtime::Mount> Builder::ssh_mount(StageCtx& c, RunMounts& held, const std::string& spec,
                                                const std::map<std::string, std::string>& kv, size_t index,
                                                std::vector<std::string>& env) {
    SshMountSpec s;
    try {
        s = parse_ssh_mount(kv);
    } catch (const std::invalid_argument& e) {
        throw Error(location_ + ": RUN --mount=" + spec + ": " + e.what());
    }
    const std::string* agent = ssh_->socket_for(s.id);
    if (!agent) {
        if (s.required)
            throw Error(location_ + ": RUN --mount=" + spec + ": no ssh agent " + s.id + " was given (imgbuild build --ssh " +
                        s.id + ")");
        return std::nullopt;  // as BuildKit: an optional agent that is absent is simply not there
    }
    std::string target = s.target.empty() ? "/run/buildkit/ssh_agent." + std::to_string(index) : in_workdir(c.st, s.target);
    target = "/" + clean_relative(target);
    held.ssh_relays.push_back(std::make_unique<SshRelay>(*agent, s));
    // BuildKit points SSH_AUTH_SOCK at the step's first ssh mount.
    if (index == 0) env.push_back("SSH_AUTH_SOCK=" + target);
    return runtime::Mount{target, "bind", held.ssh_relays.back()->path().string(), {"bind", "rprivate", "nosuid", "nodev", "noexec"}};
}

void Builder::run_instruction(StageCtx& c, const Instruction& ins, const RunCommand& run) {
    detail::RunStep step;
    // RUN --network wins; without it, the build's --network (Docker's default: the host's)
    const std::string& network = run.network == "default" ? o_.network : run.network;
    if (network != "default" && network != "host" && network != "none")
        throw Error(location_ + ": RUN --network=" + network + ": use host, none or default");
    std::string mount_key;
    std::vector<std::string> secret_env;
    RunMounts held;
    size_t ssh_mounts = 0;
    for (auto& spec : run.mounts) {
        auto kv = mount_options(spec);
        if (kv.count("type") && kv["type"] == "secret") {
            if (auto m = secret_mount(c, held, spec, kv, secret_env)) step.mounts.push_back(*m);
        } else if (kv.count("type") && kv["type"] == "ssh") {
            if (auto m = ssh_mount(c, held, spec, kv, ssh_mounts++, secret_env)) step.mounts.push_back(*m);
        } else {
            step.mounts.push_back(run_mount(c, held, spec, kv, mount_key));
        }
    }
    if (run.security) throw Error(location_ + ": RUN --security is not supported by imgbuild");
    step.network_none = network == "none";
    auto live = progress_.live_output();
    step.stdout_fd = live.out;
    step.stderr_fd = live.err;
    std::string key = "RUN";
    for (auto& f : ins.raw_flags) key += " " + f;
    std::vector<std::string> scripts_content;
    if (run.command.exec_form) {
        step.args = run.command.words;
        key += " " + json(step.args).dump();
    } else {
        std::string cmd = run.command.words.empty() ? "" : run.command.words[0];
        auto shell = shell_of(c.st.meta.config);
        std::string trimmed = cmd.substr(0, cmd.find_last_not_of(" \t") + 1);
        if (run.heredocs.size() == 1 && trimmed.rfind("<<", 0) == 0 && trimmed.find_first_of(" \t") == std::string::npos) {
            // RUN <<EOF: the heredoc is the script; one with a #! line runs as a file.
            const auto& h = run.heredocs[0];
            if (h.content.rfind("#!", 0) == 0) {
                scripts_content.push_back(h.content);
                step.args = {"/dev/.imgbuild-heredoc-0"};
            } else {
                step.args = shell;
                step.args.push_back(h.content);
            }
        } else {
            std::string script = cmd;
            for (auto& h : run.heredocs) script += "\n" + h.content + h.name;
            step.args = shell;
            step.args.push_back(script);
        }
        key += " " + json(step.args).dump();
    }
    step.env = c.st.meta.config.env;
    step.env.insert(step.env.end(), secret_env.begin(), secret_env.end());  // never in the key or history
    bool has_path = false;
    for (auto& e : step.env) has_path = has_path || e.rfind("PATH=", 0) == 0;
    if (!has_path) step.env.push_back(std::string("PATH=") + kDefaultPath);
    std::string arg_text;
    size_t nargs = 0;
    for (auto& [k, v] : c.args) {
        if (!v) continue;
        bool in_env = false;
        for (auto& e : step.env) in_env = in_env || e.substr(0, e.find('=')) == k;
        if (!in_env) step.env.push_back(k + "=" + *v);
        arg_text += " " + k + "=" + *v;
        ++nargs;
    }
    // Proxy settings reach RUN without an ARG and stay out of the cache key and history.
    for (auto& [k, v] : plan_.build_args)
        if (kProxyArgs.count(k) && !c.args.count(k)) {
            step.env.push_back(k + "=" + v);
            plan_.used_args.insert(k);
        }
    const auto& conf = c.st.meta.config;
    step.cwd = "/" + clean_relative(conf.working_dir);  // "/x/y/../z" runs in /x/z
    step.user = conf.user;
    key += " user=" + step.user + " cwd=" + step.cwd;
    std::string history = "RUN " + (nargs ? "|" + std::to_string(nargs) + arg_text + " " : std::string()) +
                          (run.command.exec_form ? json(step.args).dump() : join_words(step.args));
    fs_step(c, key + arg_text + mount_key, history, [&](StepRoot& root) {
        std::vector<std::unique_ptr<fs::TempFile>> files;
        for (size_t i = 0; i < scripts_content.size(); ++i) {
            files.push_back(std::make_unique<fs::TempFile>(store_.temp_dir(), 0755));
            files.back()->write(scripts_content[i]);
            ::fchmod(files.back()->fd(), 0755);
            step.scripts.emplace_back(files.back()->path().string(), ".imgbuild-heredoc-" + std::to_string(i));
        }
        std::string output;
        for (auto& make : held.pending) make();
        int status = detail::run_step(store_, root, step, output);
        if (status != 0) {
            progress_.step_failed(output);
            throw Error(location_ + ": " + ins.original + ": the command exited with status " + std::to_string(status));
        }
    });
}

// The content digest of a COPY source. For the build context, a digest of the stat data
// (inode, size, mtime and ctime in ns) remembers the content digest of an earlier build,
// so an unchanged rebuild reads no file; any write changes ctime and so the lookup key.
std::string Builder::context_digest(const SourceTree& tree, const std::string& rel, bool stat_cache) {
    Sha256 full;
    if (!stat_cache) {
        hash_source(full, tree, rel, o_.source_date_epoch);
        return full.digest();
    }
    Sha256 quick;
    quick.update(context_.string() + '\0');
    hash_source(quick, tree, rel, o_.source_date_epoch, /*content=*/false);
    const std::string stat_hex = quick.hex();  // hex() finalizes: take it once
    if (auto known = cache_.content_digest_for(stat_hex)) return *known;
    hash_source(full, tree, rel, o_.source_date_epoch);
    std::string d = full.digest();
    cache_.remember_content_digest(stat_hex, d);
    return d;
}

bool is_url(const std::string& s) { return s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0; }

// ADD extracts local archives: plain tar, gzip, zstd, xz or bzip2 (detected by content).
void Builder::copy_instruction(StageCtx& c, const Instruction& ins, const CopyCommand& copy) {
    const bool add = copy.add;
    for (auto& f : copy.unsupported) throw Error(location_ + ": " + ins.keyword + " --" + f + " is not supported by imgbuild yet");
    std::vector<std::string> words;
    for (auto& a : copy.sources) words.push_back(expand(c, a));
    std::string dest = expand(c, copy.dest);
    bool dest_dir = !dest.empty() && (dest.back() == '/' || dest == "." || dest == "..");
    dest = "/" + clean_relative(in_workdir(c.st, dest));
    if (words.size() > 1 || copy.parents) dest_dir = true;

    CopyAttrs attrs;
    std::string chown = copy.chown ? expand(c, *copy.chown) : "";
    if (copy.chmod) {
        std::string m = expand(c, *copy.chmod);
        char* end = nullptr;
        unsigned long v = std::strtoul(m.c_str(), &end, 8);
        if (m.empty() || *end || v > 07777) throw Error(location_ + ": invalid --chmod \"" + m + "\": expected octal bits such as 0755");
        attrs.mode = static_cast<mode_t>(v);
    }
    const std::string& checksum = copy.checksum;
    if (!checksum.empty() && !add) throw Error(location_ + ": --checksum is for ADD");
    const bool unpack = copy.unpack;

    // Where the sources come from: the context, an earlier stage or an image.
    std::unique_ptr<StepRoot> from_root;
    SourceTree tree{context_fd_.get(), &ignore_, "build context"};
    std::string key = ins.keyword;
    if (copy.from) {
        std::string from = expand(c, *copy.from);
        from_root = from_view(c, from, key);
        tree = SourceTree{from_root->root_fd(), nullptr, "stage or image " + from};
    }
    for (auto& f : ins.raw_flags)
        if (f.rfind("--from", 0) != 0) key += " " + f;
    // --exclude: a directory source's entries by their path below it, a file source by its name.
    IgnoreMatcher exclude;
    for (auto& e : copy.excludes) exclude.add(expand(c, e));
    if (!exclude.empty()) tree.exclude = &exclude;
    key += " dest=" + dest + (dest_dir ? "/" : "");

    struct Source {
        std::string rel, heredoc;
        std::string kept;      // --parents: the path it takes below the destination
        std::string url_file;  // the downloaded body (a temp file)
        int64_t url_mtime = 0;
        bool is_heredoc = false, is_url = false;
    };
    std::vector<Source> sources;
    std::vector<std::unique_ptr<fs::TempFile>> downloads;
    Sha256 content;
    for (auto& w : words) {
        if (w.rfind("<<", 0) == 0) {
            bool found = false;
            for (auto& h : copy.heredocs) {
                std::string token = w.substr(2);
                if (!token.empty() && token[0] == '-') token = token.substr(1);
                if (!token.empty() && (token[0] == '"' || token[0] == '\'')) token = token.substr(1, token.size() - 2);
                if (token != h.name) continue;
                Source s;
                s.is_heredoc = true;
                s.rel = h.name;
                s.heredoc = h.expand ? expand(c, h.content) : h.content;
                content.update("heredoc\0" + s.rel + '\0' + s.heredoc);
                sources.push_back(s);
                found = true;
            }
            if (found) continue;
        }
        if (add && is_url(w)) {
            if (from_root) throw Error(location_ + ": ADD --from cannot take a URL");
            downloads.push_back(std::make_unique<fs::TempFile>(store_.temp_dir(), 0600));
            Source s;
            s.is_url = true;
            detail::Download got = detail::download_url(w, downloads.back()->fd(), checksum);
            s.url_file = downloads.back()->path().string();
            s.url_mtime = got.mtime;
            std::string path = w.substr(0, w.find_first_of("?#"));
            s.rel = path.substr(path.rfind('/') + 1);
            if (s.rel.empty() && !dest_dir) s.rel = "download";
            content.update("url\0" + w + '\0' + got.digest + '\0' + std::to_string(s.url_mtime));
            sources.push_back(s);
            continue;
        }
        if (!checksum.empty()) throw Error(location_ + ": ADD --checksum only applies to URLs");
        std::vector<std::string> matched;
        try {
            matched = expand_source(tree, w);
        } catch (const Error& e) {
            // file:line first, then which source of which instruction is missing
            std::string why = e.what();
            if (why.rfind("COPY ", 0) == 0) why = ins.keyword + why.substr(4);
            throw Error(location_ + ": " + why);
        }
        if (has_glob_chars(w)) dest_dir = dest_dir || matched.size() > 1;
        // --parents keeps each match's directories, from the pivot "/./" on when there is
        // one (BuildKit's rule: `./a/./b/c` lands at DEST/b/c).
        std::string pivot;
        if (copy.parents) {
            auto at = ("/" + w).find("/./", 1);
            if (at != std::string::npos) pivot = clean_relative(w.substr(0, at - 1));
        }
        for (auto& m : matched) {
            if (tree.exclude && !source_is_dir(tree, m) && tree.exclude->ignored(m.substr(m.rfind('/') + 1))) continue;
            Source s;
            s.rel = m;
            if (copy.parents) {
                if (!pivot.empty() && m != pivot && m.rfind(pivot + "/", 0) != 0)
                    throw Error(location_ + ": COPY --parents " + w + ": " + m + " is not below " + pivot);
                s.kept = pivot.empty() ? m : m == pivot ? "" : m.substr(pivot.size() + 1);
            }
            content.update(context_digest(tree, m, !from_root));
            sources.push_back(s);
        }
    }
    if (sources.size() > 1 && !dest_dir)
        throw Error(location_ + ": " + ins.keyword + " with several sources needs a destination directory ending in /");
    key += " content=" + content.digest();
    std::string history = ins.keyword + " " + join_words(words) + " " + dest;

    fs_step(c, key, history, [&](StepRoot& root) {
        if (!chown.empty()) {
            auto u = engine::resolve_user(root.rootfs(), chown);
            attrs.uid = u.uid;
            attrs.gid = u.gid;
            // A bare uid also names the group (Docker: "a UID without GID will use the
            // same numeric UID as the GID"); a bare name takes the user's primary group.
            if (!chown.empty() && chown.find_first_not_of("0123456789") == std::string::npos) attrs.gid = static_cast<gid_t>(u.uid);
        }
        bool into_dir = dest_dir;
        if (!into_dir) {
            fs::UniqueFd d(fs::open_in_root(root.root_fd(), dest, O_RDONLY | O_DIRECTORY));
            into_dir = static_cast<bool>(d);  // an existing directory takes the file
        }
        for (auto& s : sources) {
            std::string target = into_dir ? dest + "/" + s.rel.substr(s.rel.rfind('/') + 1) : dest;
            if (copy.parents && !s.is_heredoc && !s.is_url) {
                // A directory becomes DEST/KEPT (its contents in it), a file DEST/KEPT.
                std::string at = s.kept.empty() ? dest : dest + "/" + s.kept;
                copy_source(tree, s.rel, root.root_fd(), at, false, attrs);
                continue;
            }
            if (s.is_heredoc) {
                write_file_in_root(root.root_fd(), target, s.heredoc, attrs, 0644);
            } else if (s.is_url) {
                // A download is owner-only unless --chmod says otherwise (Docker's 0600).
                fs::UniqueFd body(::open(s.url_file.c_str(), O_RDONLY | O_CLOEXEC));
                if (!body) throw_errno("open the download of " + s.rel);
                copy_fd_in_root(root.root_fd(), target, body.get(), attrs, 0600, s.url_mtime);
            } else {
                bool is_dir = source_is_dir(tree, s.rel);
                if (add && unpack && !is_dir) {
                    fs::UniqueFd f(fs::open_in_root(tree.root_fd, s.rel, O_RDONLY));
                    if (f && is_tar_archive(f.get())) {
                        // xz and bzip2 go through libarchive's filters first (the layer
                        // unpacker reads plain, gzip and zstd).
                        std::unique_ptr<fs::TempFile> plain;
                        if (needs_libarchive_filter(f.get())) {
                            plain = std::make_unique<fs::TempFile>(store_.temp_dir(), 0600);
                            decompress_to(f.get(), plain->fd(), location_ + ": ADD " + s.rel);
                            f.reset(::open(plain->path().c_str(), O_RDONLY | O_CLOEXEC));
                            if (!f) throw_errno("open " + plain->path().string());
                        }
                        fs::UniqueFd out(make_dirs_in_root(root.root_fd(), dest));
                        image::UnpackOptions uo = image::default_unpack_options(s.rel);
                        uo.overlay_whiteouts = false;
                        image::unpack_layer(f.get(), "/proc/self/fd/" + std::to_string(out.get()), uo);
                        continue;
                    }
                }
                copy_source(tree, s.rel, root.root_fd(), is_dir ? dest : dest, into_dir && !is_dir, attrs);
            }
        }
    });
}

// ---- instructions ----

Command Builder::typed_command(const Instruction& ins) const {
    try {
        return to_command(ins);
    } catch (const Error& e) {
        throw wrap_error(e, plan_.file.file + ":" + std::to_string(ins.line));
    }
}

Expander Builder::expander(StageCtx& c) {
    auto env = std::make_shared<ShellEnv>(expansion_env(c));
    return Expander{[this, env](const std::string& w) { return lexer_.process_word(w, *env); },
                    [this, env](const std::string& w) { return lexer_.process_words(w, *env); }};
}

void Builder::workdir_instruction(StageCtx& c, const WorkdirCommand& w) {
    std::string history;
    try {
        history = apply(c.st.meta, w, expander(c));
    } catch (const Error& e) {
        throw wrap_error(e, location_);
    }
    const std::string dir = c.st.meta.config.working_dir;
    // What WORKDIR creates belongs to the current USER (BuildKit's behaviour), so a later
    // RUN as that user can write there.
    const std::string user = c.st.meta.config.user;
    fs_step(c, "WORKDIR " + dir + " user=" + user, history, [&](StepRoot& root) {
        auto u = engine::resolve_user(root.rootfs(), user);
        CopyAttrs owner{u.uid, u.gid, std::nullopt};
        fs::UniqueFd d(make_dirs_in_root(root.root_fd(), "/" + clean_relative(dir), &owner));
    });
}

void Builder::arg_instruction(StageCtx& c, const ArgCommand& a) {
    std::string text = "ARG";
    for (auto& d : a.declarations) {
        std::optional<std::string> value;
        if (d.default_value) value = expand(c, *d.default_value);
        else if (plan_.meta_args.count(d.name)) value = plan_.meta_args[d.name];
        if (plan_.build_args.count(d.name)) {
            value = plan_.build_args[d.name];
            plan_.used_args.insert(d.name);
        }
        c.args[d.name] = value;
        text += " " + d.name + (value ? "=" + *value : "");
    }
    add_history(c.st, text, true);  // values enter the keys of the RUNs that see them
}

void Builder::execute(StageCtx& c, const Instruction& ins, const Command& command, bool trigger) {
    location_ = plan_.file.file + ":" + std::to_string(ins.line);
    if (!trigger) step_header(ins.original);
    else progress_.trigger_started(ins.original);
    std::visit(
        [&](const auto& cmd) {
            using T = std::decay_t<decltype(cmd)>;
            if constexpr (std::is_same_v<T, RunCommand>) {
                run_instruction(c, ins, cmd);
            } else if constexpr (std::is_same_v<T, CopyCommand>) {
                copy_instruction(c, ins, cmd);
            } else if constexpr (std::is_same_v<T, WorkdirCommand>) {
                workdir_instruction(c, cmd);
            } else if constexpr (std::is_same_v<T, ArgCommand>) {
                arg_instruction(c, cmd);
                if (!trigger) step_done(false);
            } else {
                // Everything else only changes the config: a pure function, then a history entry.
                std::string text;
                try {
                    text = apply(c.st.meta, cmd, expander(c));
                } catch (const Error& e) {
                    throw wrap_error(e, location_);
                }
                metadata_step(c, text);
                if (!trigger) step_done(false);
            }
        },
        command);
}

void Builder::build_stage(size_t idx) {
    const Stage& stage = plan_.file.stages[idx];
    StageCtx c;
    c.stage = &stage;
    location_ = plan_.file.file + ":" + std::to_string(stage.from.line);
    ImageState base = from_base(stage);
    step_header(stage.from.original);
    c.st = std::move(base);
    c.st.document = without_build_leftovers(c.st.document);
    c.st.meta.cmd_set = false;
    step_done(false);
    // ONBUILD triggers of the base run first, then leave the image.
    std::vector<std::string> triggers = std::move(c.st.meta.config.on_build);
    c.st.meta.config.on_build.clear();
    for (auto& t : triggers)
        for (auto& ins : parse_instructions(t, "ONBUILD trigger")) execute(c, ins, typed_command(ins), true);
    const auto& commands = plan_.commands.at(idx);
    for (size_t i = 0; i < stage.instructions.size(); ++i) execute(c, stage.instructions[i], commands[i], false);
    built_[idx] = std::move(c.st);
}

BuildResult Builder::commit_image(ImageState& s) {
    image::ImageConfig typed;
    typed.platform = s.platform;
    if (typed.platform.architecture.empty()) typed.platform.architecture = image::Platform::host().architecture;
    if (typed.platform.os.empty()) typed.platform.os = "linux";
    typed.created = rfc3339_seconds(o_.source_date_epoch);
    typed.author = s.meta.author;
    typed.config = s.meta.config;
    for (auto& [k, v] : o_.labels) typed.config.labels[k] = v;  // --label over LABEL, as Docker
    typed.diff_ids = diff_ids_of(s);
    typed.history = s.history;
    std::string config_text = image::merge_image_config(s.document, typed);
    std::string config_digest = store_.put_blob(config_text);
    image::Manifest m;
    m.media_type = std::string(image::media::kOciManifest);
    m.config.media_type = std::string(image::media::kOciConfig);
    m.config.digest = config_digest;
    m.config.size = static_cast<int64_t>(config_text.size());
    for (auto& l : s.layers) {
        image::Descriptor d;  // what a layer is, without the base manifest's annotations
        d.media_type = l.blob.media_type;
        d.digest = l.blob.digest;
        d.size = l.blob.size;
        m.layers.push_back(d);
    }
    std::string manifest_text = image::manifest_json(m);
    image::Descriptor desc;
    desc.media_type = m.media_type;
    desc.digest = store_.put_blob(manifest_text);
    desc.size = static_cast<int64_t>(manifest_text.size());
    check_interrupted();
    for (auto& t : o_.tags) store_.set_image(image::Reference::parse(t).str(), desc);
    // Without -t the image is still runnable by the id printed (`minirun run <id>`).
    if (o_.tags.empty()) store_.add_unnamed(desc);
    for (auto& out : o_.outputs) detail::write_output(store_, desc, o_.tags, out);
    BuildResult r;
    r.image_id = config_digest;
    r.manifest_digest = desc.digest;
    r.cached_steps = cached_;
    r.executed_steps = executed_;
    return r;
}

BuildResult Builder::run() {
    load();
    for (auto& t : o_.tags) image::Reference::parse(t);  // a bad tag fails before any work
    for (auto& out : o_.outputs) detail::check_output(out);
    image::Store::PullGuard guard(store_);
    store_.sweep_leftovers();
    for (size_t i : plan_.stages) ensure_stage(i);
    BuildResult r = commit_image(built_.at(plan_.target));
    for (auto& [k, v] : plan_.build_args)
        if (!plan_.used_args.count(k) && !kProxyArgs.count(k))
            log::warn("build argument " + k + " was not consumed by any ARG in " + plan_.file.file);
    return r;
}

}  // namespace

int64_t source_date_epoch_from_env() {
    const char* v = std::getenv("SOURCE_DATE_EPOCH");
    if (!v || !*v) return 0;
    char* end = nullptr;
    long long t = std::strtoll(v, &end, 10);
    if (*end || t < 0) throw Error(std::string("invalid SOURCE_DATE_EPOCH \"") + v + "\": expected seconds since 1970");
    return t;
}

BuildResult build_image(const BuildOptions& opts) {
    // A private mount namespace: the overlays of the steps vanish with us, even when killed.
    if (::unshare(CLONE_NEWNS) != 0) throw_errno("unshare mount namespace");
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) throw_errno("make mounts private");
    registry::parse_pull_policy(opts.pull);  // a bad --pull fails before anything runs
    Builder b(opts);
    return b.run();
}

}  // namespace minirun::imgbuild
