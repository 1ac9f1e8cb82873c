// Engine pieces that need no root: restart policies, image configs, users, the OCI
// config `run` generates, and the json-file log driver.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/engine/container_store.hpp"
#include "minirun/engine/image_config.hpp"
#include "minirun/engine/mount_request.hpp"
#include "minirun/engine/rootfs.hpp"
#include "minirun/engine/run_options.hpp"
#include "minirun/engine/logs.hpp"
#include "minirun/engine/spec_builder.hpp"
#include "minirun/runtime/spec.hpp"
#include "scratch_dir.hpp"

using namespace minirun;
using namespace minirun::engine;
namespace stdfs = std::filesystem;
using json = nlohmann::json;

TEST_CASE("engine: restart policies as Docker spells them") {
    CHECK(RestartPolicy::parse("no").name == "no");
    CHECK(RestartPolicy::parse("always").name == "always");
    CHECK(RestartPolicy::parse("unless-stopped").name == "unless-stopped");
    auto p = RestartPolicy::parse("on-failure:3");
    CHECK(p.name == "on-failure");
    CHECK(p.max_retries == 3);
    CHECK(p.str() == "on-failure:3");
    CHECK_THROWS_WITH_AS(RestartPolicy::parse("sometimes"), doctest::Contains("--restart \"sometimes\""), Error);
    CHECK_THROWS_AS(RestartPolicy::parse("always:3"), Error);
    CHECK_THROWS_AS(RestartPolicy::parse("on-failure:x"), Error);
    CHECK_THROWS_AS(RestartPolicy::parse("on-failure:-1"), Error);
}

TEST_CASE("engine: image config fields") {
    auto c = image::parse_image_config(R"({"config":{"Entrypoint":["/entry"],"Cmd":["a","b"],"Env":["A=1"],
        "WorkingDir":"/app","User":"app","StopSignal":"SIGQUIT","ExposedPorts":{"80/tcp":{}},"Volumes":{"/data":{}},
        "Labels":{"k":"v"}},"rootfs":{"type":"layers","diff_ids":[]}})").config;
    CHECK(c.entrypoint == std::vector<std::string>{"/entry"});
    CHECK(c.cmd == std::vector<std::string>{"a", "b"});
    CHECK(c.working_dir == "/app");
    CHECK(c.user == "app");
    CHECK(c.stop_signal == "SIGQUIT");
    CHECK(c.exposed_ports == std::vector<std::string>{"80/tcp"});
    CHECK(c.volumes == std::vector<std::string>{"/data"});
    CHECK(c.labels.at("k") == "v");
    CHECK_THROWS_AS(image::parse_image_config("nope"), Error);
}

TEST_CASE("engine: an image's HEALTHCHECK gets Docker's defaults where it leaves zeros") {
    CHECK_FALSE(health_from_image(std::nullopt).has_value());
    CHECK_FALSE(health_from_image(image::Healthcheck{}).has_value());  // no test: no check
    image::Healthcheck h;
    h.test = {"CMD", "true"};
    h.interval_ns = 2'000'000'000;
    auto hc = health_from_image(h);
    REQUIRE(hc.has_value());
    CHECK(hc->interval_ns == 2'000'000'000);
    CHECK(hc->timeout_ns == HealthConfig{}.timeout_ns);
    CHECK(hc->retries == HealthConfig{}.retries);
}

TEST_CASE("engine: --health-* and Compose's healthcheck override the image's field by field") {
    HealthConfig image;
    image.test = {"CMD", "check"};
    image.interval_ns = 7'000'000'000;
    // Nothing given: the image's, unless it has none or says NONE.
    CHECK(effective_health({}, image)->interval_ns == 7'000'000'000);
    CHECK_FALSE(effective_health({}, std::nullopt));
    CHECK_FALSE(effective_health({}, HealthConfig{{"NONE"}}));
    HealthOverride over;
    over.timeout_ns = 1'000'000'000;
    over.retries = 9;
    auto h = effective_health(over, image);
    REQUIRE(h);
    CHECK(h->test == image.test);
    CHECK(h->interval_ns == 7'000'000'000);  // kept
    CHECK(h->timeout_ns == 1'000'000'000);
    CHECK(h->retries == 9);
    over.test = {"CMD-SHELL", "true"};
    CHECK(effective_health(over, std::nullopt)->test == over.test);  // defaults for the rest
    CHECK(effective_health(over, std::nullopt)->interval_ns == HealthConfig{}.interval_ns);
    over.disable = true;
    CHECK_FALSE(effective_health(over, image));
    HealthOverride bad;
    bad.interval_ns = 0;
    CHECK_THROWS_WITH_AS(effective_health(bad, image), "invalid health check interval: must be positive", Error);
    bad = {};
    bad.retries = 0;
    CHECK_THROWS_WITH_AS(effective_health(bad, image), "invalid health check retries: must be at least 1", Error);
    bad = {};
    bad.timeout_ns = 1;
    CHECK_THROWS_WITH_AS(effective_health(bad, std::nullopt), doctest::Contains("need a health check"), Error);
}

TEST_CASE("engine: run options are checked and typed before anything is created") {
    RunRequest r;
    r.memory = "64m";
    r.cpus = "1.5";
    r.publish = {"8080:80"};
    r.labels = {"tier=web"};
    r.security_opts = {"no-new-privileges"};
    r.restart = "on-failure:3";
    CheckedRunOptions o = check_run_options(r, 2);
    CHECK(*o.memory_bytes == 64 * 1024 * 1024);
    CHECK(*o.cpus == doctest::Approx(1.5));
    REQUIRE(o.ports.size() == 1);
    CHECK(o.ports[0].host_port == 8080);
    CHECK(o.labels.at("tier") == "web");
    CHECK(o.no_new_privileges);
    CHECK(o.restart.max_retries == 3);
    auto refused = [](RunRequest bad, const char* message) {
        CHECK_THROWS_WITH_AS(check_run_options(bad, 2), doctest::Contains(message), Error);
    };
    RunRequest bad;
    bad.cpus = "3";
    refused(bad, "invalid --cpus \"3\": range of CPUs is from 0.01 to 2");
    bad = {}, bad.cpus = "x";
    refused(bad, "invalid --cpus \"x\": expected a positive number");
    bad = {}, bad.memory = "1m";
    refused(bad, "the minimum allowed memory limit is 6MB");
    bad = {}, bad.remove = true, bad.restart = "always";
    refused(bad, "conflicting options: --restart and --rm");
    bad = {}, bad.network = "none", bad.publish = {"80"};
    refused(bad, "published ports need a bridge network, not --network none");
    bad = {}, bad.env = {"=x"};
    refused(bad, "invalid -e \"=x\"");
    bad = {}, bad.add_hosts = {"nohost"};
    refused(bad, "invalid --add-host \"nohost\": expected host:ip");
    bad = {}, bad.userns = "auto";
    refused(bad, "unsupported --userns \"auto\": containers run in the host's user namespace");
    RunRequest host_ns;
    host_ns.userns = "host";
    CHECK_NOTHROW(check_run_options(host_ns, 2));
    bad = {}, bad.security_opts = {"bogus=x"};
    refused(bad, "unsupported --security-opt \"bogus=x\"");
    bad = {}, bad.security_opts = {"seccomp=/nonexistent/profile.json"};
    refused(bad, "--security-opt seccomp=/nonexistent/profile.json: ");
    bad = {}, bad.ip = "10.0.0.5";
    refused(bad, "user specified IP address is supported on user defined networks only");
    bad = {}, bad.network = "front", bad.ip = "10.0.0";
    refused(bad, "invalid --ip \"10.0.0\"");
    bad = {}, bad.mac_address = "02:42:ac:11:00";
    refused(bad, "invalid --mac-address \"02:42:ac:11:00\"");
    bad = {}, bad.links = {"web:"};
    refused(bad, "invalid --link \"web:\"");
    bad = {}, bad.labels = {"=v"};
    refused(bad, "invalid --label \"=v\": expected key=value");
    bad = {}, bad.pull = "sometimes";
    CHECK_THROWS_AS(check_run_options(bad, 2), Error);
}

TEST_CASE("engine: a container's command and environment in Docker's order") {
    image::ContainerConfig ic;
    ic.entrypoint = {"/entry"};
    ic.cmd = {"serve"};
    ic.env = {"PATH=/bin", "A=image"};
    RunRequest r;
    CHECK(container_command(r, ic) == std::vector<std::string>{"/entry", "serve"});
    r.command = {"debug"};
    CHECK(container_command(r, ic) == std::vector<std::string>{"/entry", "debug"});
    r.command.clear();
    r.entrypoint = "/bin/sh";  // drops the image's CMD too
    CHECK(container_command(r, ic) == std::vector<std::string>{"/bin/sh"});
    r.entrypoint = "";
    r.command = {"true"};
    CHECK(container_command(r, ic) == std::vector<std::string>{"true"});

    RunRequest e;
    e.tty = true;
    e.env = {"A=flag", "B=1", "B=2"};
    auto env = container_env(e, ic, "box", "/root");
    CHECK(env == std::vector<std::string>{"PATH=/bin", "HOSTNAME=box", "TERM=xterm", "A=flag", "B=2", "HOME=/root"});
    image::ContainerConfig bare;
    CHECK(container_env({}, bare, "h", "/home/u").front().rfind("PATH=/usr/local/sbin:", 0) == 0);
}

TEST_CASE("engine: users and groups resolved through the image's files") {
    test::ScratchDir t("engine");
    stdfs::create_directories(t.p / "etc");
    std::ofstream(t.p / "etc/passwd") << "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n";
    std::ofstream(t.p / "etc/group") << "root:x:0:\napp:x:1000:\nwheel:x:10:app\naudio:x:29:other,app\n";
    auto u = resolve_user(t.p, "app");
    CHECK(u.uid == 1000);
    CHECK(u.gid == 1000);
    CHECK(u.home == "/home/app");
    // The primary gid first, then the groups listing the user (what `id` shows under Docker).
    CHECK(u.additional_gids == std::vector<unsigned>{1000, 10, 29});
    auto g = resolve_user(t.p, "app:wheel");
    CHECK(g.gid == 10);
    auto n = resolve_user(t.p, "4242:4343");
    CHECK(n.uid == 4242);
    CHECK(n.gid == 4343);
    auto root = resolve_user(t.p, "");
    CHECK(root.uid == 0);
    CHECK(root.home == "/root");  // root is looked up in the image's passwd like anyone
    CHECK(root.additional_gids == std::vector<unsigned>{0});
    CHECK(resolve_user(t.p, "4294967294").uid == 4294967294u);
    CHECK_THROWS_WITH_AS(resolve_user(t.p, "4294967296"), doctest::Contains("outside the range"), Error);
    CHECK_THROWS_WITH_AS(check_user_spec("0:99999999999"), doctest::Contains("outside the range"), Error);
    CHECK_THROWS_WITH_AS(check_user_spec("app:"), doctest::Contains("expected user[:group]"), Error);
    CHECK_THROWS_WITH_AS(resolve_user(t.p, "nobody"), doctest::Contains("unable to find user nobody"), Error);
    CHECK_THROWS_WITH_AS(resolve_user(t.p, "app:staff"), doctest::Contains("unable to find group staff"), Error);
}

TEST_CASE("engine: a symlinked /etc/passwd is read inside the rootfs") {
    test::ScratchDir t("engine");
    stdfs::create_directories(t.p / "etc");
    stdfs::create_directories(t.p / "real");
    std::ofstream(t.p / "real/passwd") << "svc:x:77:77::/:/bin/sh\n";
    stdfs::create_symlink("/real/passwd", t.p / "etc/passwd");  // absolute: must resolve in the root
    CHECK(resolve_user(t.p, "svc").uid == 77);
}

TEST_CASE("engine: run's OCI config has Docker's defaults") {
    RunSettings s;
    s.args = {"sh"};
    s.env = {"PATH=/bin"};
    s.memory = 64 << 20;
    s.cpus = 1.5;
    s.pids_limit = 50;
    s.netns_path = "/x/netns";
    s.cgroups_path = "/minirun/abc";
    s.cap_drop = {"NET_RAW"};
    s.cap_add = {"sys_admin"};
    runtime::Spec spec = runtime::parse_spec(build_config_json(s));
    auto caps = spec.process->capabilities->effective;
    CHECK(caps.size() == 14);  // 14 defaults - NET_RAW + SYS_ADMIN
    CHECK(std::find(caps.begin(), caps.end(), "CAP_SYS_ADMIN") != caps.end());
    CHECK(std::find(caps.begin(), caps.end(), "CAP_NET_RAW") == caps.end());
    CHECK(spec.linux.resources->memory->limit == 64 << 20);
    CHECK(*spec.linux.resources->cpu->quota == 150000);
    CHECK(*spec.linux.resources->pids_limit == 50);
    CHECK(spec.find_namespace("network")->path == "/x/netns");
    CHECK(spec.linux.seccomp.has_value());
    CHECK(spec.linux.seccomp->default_action == "SCMP_ACT_ERRNO");
    CHECK(std::find(spec.linux.masked_paths.begin(), spec.linux.masked_paths.end(), "/proc/kcore") != spec.linux.masked_paths.end());
    CHECK_THROWS_WITH_AS(([] {
                             RunSettings bad;
                             bad.cap_add = {"CAP_MAKE_COFFEE"};
                             return effective_capabilities(bad);
                         })(),
                         doctest::Contains("unknown capability"), Error);
    RunSettings priv;
    priv.args = {"sh"};
    priv.privileged = true;
    runtime::Spec ps = runtime::parse_spec(build_config_json(priv));
    CHECK_FALSE(ps.linux.seccomp.has_value());
    CHECK(ps.linux.masked_paths.empty());
    RunSettings host;
    host.args = {"sh"};
    host.host_network = true;
    CHECK_FALSE(runtime::parse_spec(build_config_json(host)).has_namespace("network"));
}

TEST_CASE("engine: json-file logs in Docker's format, rotated by size") {
    test::ScratchDir t("engine");
    std::string path = (t.p / "c.log").string();
    {
        auto sink = make_log_sink("json-file", {{"max-size", "1k"}, {"max-file", "3"}}, path, "id", "name");
        LineSplitter out(*sink, "stdout");
        std::string chunk = "hello\nwor";
        out.feed(chunk.data(), chunk.size());
        out.feed("ld\n", 3);
        for (int i = 0; i < 20; ++i) sink->write("stderr", "line " + std::to_string(i));
    }
    CHECK(stdfs::exists(path + ".1"));
    CHECK_FALSE(stdfs::exists(path + ".2"));
    CHECK(stdfs::file_size(path) <= 1024);
    std::ifstream first(path + ".1");
    std::string line;
    std::getline(first, line);
    json j = json::parse(line);
    CHECK(j["log"] == "hello\n");
    CHECK(j["stream"] == "stdout");
    CHECK(j["time"].get<std::string>().find('T') != std::string::npos);
    {
        // Past max-file, the oldest file goes.
        auto sink = make_log_sink("json-file", {{"max-size", "1k"}, {"max-file", "3"}}, path, "id", "name");
        for (int i = 0; i < 100; ++i) sink->write("stderr", "line " + std::to_string(i));
    }
    CHECK(stdfs::exists(path + ".2"));
    CHECK_FALSE(stdfs::exists(path + ".3"));
    CHECK_THROWS_WITH_AS(make_log_sink("journald", {}, path, "i", "n"), doctest::Contains("unknown log driver"), Error);
    CHECK_THROWS_WITH_AS(validate_log_options("json-file", {{"syslog-address", "x"}}), doctest::Contains("unknown log option"), Error);
    CHECK_THROWS_WITH_AS(validate_log_options("syslog", {{"syslog-address", "http://x"}}), doctest::Contains("udp://host:port"), Error);
}

TEST_CASE("engine: -v, --mount and --tmpfs parsed into typed mounts") {
    auto bind = parse_volume_flag("./data:/data:ro");
    CHECK(bind.kind == MountRequest::Kind::Bind);
    CHECK(bind.source == "./data");
    CHECK(bind.destination == "/data");
    CHECK(bind.read_only);
    CHECK_FALSE(bind.source_must_exist);  // -v creates a missing host directory
    auto named = parse_volume_flag("db:/var/lib/db");
    CHECK(named.kind == MountRequest::Kind::Volume);
    CHECK(named.source == "db");
    auto anon = parse_volume_flag("/cache");
    CHECK(anon.kind == MountRequest::Kind::Volume);
    CHECK(anon.source.empty());
    CHECK_THROWS_WITH_AS(parse_volume_flag("db:relative"), doctest::Contains("must be absolute"), Error);
    CHECK_THROWS_WITH_AS(parse_volume_flag("a:/b:rx"), doctest::Contains("unknown mode rx"), Error);
    CHECK_THROWS_WITH_AS(parse_volume_flag("bad name:/b"), doctest::Contains("invalid volume name"), Error);

    auto m = parse_mount_flag("type=bind,src=conf,dst=/etc/app,readonly");
    CHECK(m.kind == MountRequest::Kind::Bind);
    CHECK(m.source == "./conf");  // a relative bind source is a path
    CHECK(m.read_only);
    CHECK(m.source_must_exist);
    CHECK(m.spec == "./conf:/etc/app:ro");
    auto t = parse_mount_flag("type=tmpfs,target=/run,tmpfs-size=64m");
    CHECK(t.kind == MountRequest::Kind::Tmpfs);
    CHECK(t.tmpfs_options == std::vector<std::string>{"nosuid", "nodev", "size=64m"});
    CHECK_THROWS_WITH_AS(parse_mount_flag("type=nfs,target=/x"), doctest::Contains("type must be bind, volume or tmpfs"), Error);
    CHECK_THROWS_WITH_AS(parse_mount_flag("type=bind,target=/x"), doctest::Contains("a bind needs a source"), Error);
    CHECK_THROWS_WITH_AS(parse_mount_flag("type=volume"), doctest::Contains("no destination"), Error);

    auto tf = parse_tmpfs_flag("/tmp:size=1m,mode=1777");
    CHECK(tf.destination == "/tmp");
    CHECK(tf.tmpfs_options == std::vector<std::string>{"nosuid", "nodev", "noexec", "size=1m", "mode=1777"});
}

TEST_CASE("rootfs: more layers than overlay stacks is refused by count, before any mount") {
    minirun::test::ScratchDir d("deep");
    std::vector<std::string> ids(501, "sha256:" + std::string(64, 'a'));
    engine::OverlayDirs dirs{(d.p / "upper").string(), (d.p / "work").string(), (d.p / "rootfs").string(), {}};
    CHECK_THROWS_WITH_AS(engine::mount_layers(d.p.string(), ids, dirs),
                         doctest::Contains("501 layers, overlay stacks at most 500"), Error);
    // A damaged record's layer id is named, not turned into a path.
    CHECK_THROWS_WITH_AS(engine::mount_layers(d.p.string(), {"sha256:../../etc"}, dirs), "invalid layer id sha256:../../etc", Error);
}
