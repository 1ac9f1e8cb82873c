// Typed instructions and the metadata instructions as pure functions: no root, no store.
#include <doctest/doctest.h>

#include <map>

#include "minirun/common/error.hpp"
#include "minirun/imgbuild/containerfile.hpp"
#include "minirun/imgbuild/instructions.hpp"
#include "minirun/imgbuild/metadata.hpp"

using namespace minirun;
using namespace minirun::imgbuild;

namespace {

// The one instruction of "FROM scratch\n<line>", typed.
Command typed(const std::string& line) {
    auto cf = parse_containerfile("FROM scratch\n" + line + "\n");
    REQUIRE(cf.stages.at(0).instructions.size() == 1);
    return to_command(cf.stages[0].instructions[0]);
}

template <typename T>
T typed_as(const std::string& line) {
    Command c = typed(line);
    REQUIRE(std::holds_alternative<T>(c));
    return std::get<T>(c);
}

// $NAME from a fixed map; no field splitting beyond spaces.
Expander fixed_env(std::map<std::string, std::string> env) {
    auto word = [env](const std::string& w) {
        std::string out;
        for (size_t i = 0; i < w.size(); ++i) {
            if (w[i] != '$') {
                out += w[i];
                continue;
            }
            size_t j = i + 1;
            while (j < w.size() && (std::isalnum(static_cast<unsigned char>(w[j])) || w[j] == '_')) ++j;
            auto it = env.find(w.substr(i + 1, j - i - 1));
            if (it != env.end()) out += it->second;
            i = j - 1;
        }
        return out;
    };
    auto words = [word](const std::string& w) {
        std::vector<std::string> out;
        std::string all = word(w), cur;
        for (char ch : all + " ") {
            if (ch != ' ') cur += ch;
            else if (!cur.empty()) out.push_back(std::exchange(cur, {}));
        }
        return out;
    };
    return Expander{word, words};
}

template <typename T>
std::string apply_line(BuildConfig& b, const std::string& line, const Expander& x = fixed_env({})) {
    return apply(b, typed_as<T>(line), x);
}

}  // namespace

TEST_CASE("instructions: each keyword becomes its own struct, words unexpanded") {
    auto run = typed_as<RunCommand>("RUN --mount=type=cache,target=/c --network=none make $X");
    CHECK(run.command.words == std::vector<std::string>{"make $X"});
    CHECK_FALSE(run.command.exec_form);
    CHECK(run.network == "none");
    CHECK(run.mounts == std::vector<std::string>{"type=cache,target=/c"});
    auto copy = typed_as<CopyCommand>("COPY --from=build --chmod=755 a b /dst/");
    CHECK_FALSE(copy.add);
    CHECK(copy.sources == std::vector<std::string>{"a", "b"});
    CHECK(copy.dest == "/dst/");
    CHECK(copy.from == std::optional<std::string>("build"));
    CHECK(copy.chmod == std::optional<std::string>("755"));
    CHECK_FALSE(copy.chown);
    auto add = typed_as<CopyCommand>("ADD --unpack=false x.tar /");
    CHECK(add.add);
    CHECK_FALSE(add.unpack);
    CHECK(typed_as<CopyCommand>("COPY --parents a /d/").parents);
    CHECK_FALSE(typed_as<CopyCommand>("COPY --parents=false a /d/").parents);
    CHECK(typed_as<CopyCommand>("ADD --keep-git-dir x /d/").unsupported == std::vector<std::string>{"keep-git-dir"});
    auto env = typed_as<EnvCommand>("ENV A=1 B=\"two words\"");
    REQUIRE(env.pairs.size() == 2);
    CHECK(env.pairs[1] == KeyValue{"B", "\"two words\""});
    auto arg = typed_as<ArgCommand>("ARG A B=2");
    REQUIRE(arg.declarations.size() == 2);
    CHECK_FALSE(arg.declarations[0].default_value);
    CHECK(arg.declarations[1].default_value == std::optional<std::string>("2"));
    auto hc = typed_as<HealthcheckCommand>("HEALTHCHECK --interval=5s CMD [\"true\"]");
    CHECK_FALSE(hc.none);
    CHECK(hc.command.exec_form);
    CHECK(hc.interval == std::optional<std::string>("5s"));
    CHECK(typed_as<HealthcheckCommand>("HEALTHCHECK none").none);
    CHECK(typed_as<MaintainerCommand>("MAINTAINER Jane Doe <j@d>").name == "Jane Doe <j@d>");
    CHECK(typed_as<OnbuildCommand>("ONBUILD RUN echo hi").trigger == "RUN echo hi");
}

TEST_CASE("instructions: what no build can run is refused when typed") {
    CHECK_THROWS_WITH_AS(typed("ENV =x"), doctest::Contains("ENV names can not be blank"), Error);
}

TEST_CASE("metadata: ENV expands with the environment from before it, and replaces in place") {
    BuildConfig b;
    b.config.env = {"PATH=/bin", "A=old"};
    auto x = fixed_env({{"A", "old"}, {"PATH", "/bin"}});
    CHECK(apply_line<EnvCommand>(b, "ENV A=new B=$A PATH=/usr/bin:$PATH", x) == "ENV A=new B=old PATH=/usr/bin:/bin");
    CHECK(b.config.env == std::vector<std::string>{"A=new", "B=old", "PATH=/usr/bin:/bin"});
}

TEST_CASE("metadata: CMD and ENTRYPOINT in Docker's forms, an inherited CMD does not survive ENTRYPOINT") {
    BuildConfig b;
    b.config.cmd = {"inherited"};
    CHECK(apply_line<EntrypointCommand>(b, "ENTRYPOINT [\"/app\"]") == "ENTRYPOINT [\"/app\"]");
    CHECK(b.config.cmd.empty());
    CHECK(apply_line<CmdCommand>(b, "CMD echo $HOME") == "CMD [\"/bin/sh\",\"-c\",\"echo $HOME\"]");
    CHECK(b.cmd_set);
    apply_line<EntrypointCommand>(b, "ENTRYPOINT [\"/other\"]");
    CHECK(b.config.cmd == std::vector<std::string>{"/bin/sh", "-c", "echo $HOME"});  // set in this stage: kept
    apply_line<ShellCommand>(b, "SHELL [\"/bin/bash\", \"-ec\"]");
    apply_line<CmdCommand>(b, "CMD run");
    CHECK(b.config.cmd == std::vector<std::string>{"/bin/bash", "-ec", "run"});
}

TEST_CASE("metadata: EXPOSE normalises, expands ranges, keeps a sorted set, refuses bad ports") {
    BuildConfig b;
    CHECK(apply_line<ExposeCommand>(b, "EXPOSE 8080 53/UDP $P", fixed_env({{"P", "7000-7002/tcp"}})) ==
          "EXPOSE 8080/tcp 53/udp 7000-7002/tcp");
    CHECK(b.config.exposed_ports == std::vector<std::string>{"53/udp", "7000/tcp", "7001/tcp", "7002/tcp", "8080/tcp"});
    apply_line<ExposeCommand>(b, "EXPOSE 8080");
    CHECK(b.config.exposed_ports.size() == 5);
    for (const char* bad : {"EXPOSE 70000", "EXPOSE 80/icmp", "EXPOSE x", "EXPOSE 1-x"}) {
        CAPTURE(bad);
        CHECK_THROWS_WITH_AS(apply_line<ExposeCommand>(b, bad), doctest::Contains("EXPOSE: invalid port"), Error);
    }
}

TEST_CASE("metadata: WORKDIR joins relative paths, USER, LABEL, VOLUME, STOPSIGNAL, MAINTAINER, ONBUILD") {
    BuildConfig b;
    CHECK(apply_line<WorkdirCommand>(b, "WORKDIR /srv/") == "WORKDIR /srv/");
    CHECK(apply_line<WorkdirCommand>(b, "WORKDIR app/../api") == "WORKDIR /srv/api");
    CHECK(b.config.working_dir == "/srv/api");
    auto x = fixed_env({{"U", "app"}, {"V", "1.2"}});
    CHECK(apply_line<UserCommand>(b, "USER $U:$U", x) == "USER app:app");
    CHECK(apply_line<LabelCommand>(b, "LABEL version=$V", x) == "LABEL version=1.2");
    CHECK(b.config.labels.at("version") == "1.2");
    apply_line<VolumeCommand>(b, "VOLUME /data /cache");
    CHECK(b.config.volumes == std::vector<std::string>{"/cache", "/data"});
    CHECK(apply_line<StopSignalCommand>(b, "STOPSIGNAL SIGINT") == "STOPSIGNAL SIGINT");
    apply_line<MaintainerCommand>(b, "MAINTAINER ops");
    CHECK(b.author == "ops");
    apply_line<OnbuildCommand>(b, "ONBUILD COPY . /app");
    CHECK(b.config.on_build == std::vector<std::string>{"COPY . /app"});
}

TEST_CASE("metadata: HEALTHCHECK in nanoseconds, NONE, bad retries") {
    BuildConfig b;
    CHECK(apply_line<HealthcheckCommand>(b, "HEALTHCHECK --interval=5s --retries=3 CMD wget -q localhost") ==
          "HEALTHCHECK {\"Interval\":5000000000,\"Retries\":3,\"Test\":[\"CMD-SHELL\",\"wget -q localhost\"]}");
    REQUIRE(b.config.healthcheck);
    CHECK(b.config.healthcheck->interval_ns == 5000000000);
    CHECK(b.config.healthcheck->retries == 3);
    apply_line<HealthcheckCommand>(b, "HEALTHCHECK CMD [\"/bin/check\", \"-q\"]");
    CHECK(b.config.healthcheck->test == std::vector<std::string>{"CMD", "/bin/check", "-q"});
    CHECK(b.config.healthcheck->interval_ns == 0);
    apply_line<HealthcheckCommand>(b, "HEALTHCHECK NONE");
    CHECK(b.config.healthcheck->test == std::vector<std::string>{"NONE"});
    CHECK_THROWS_WITH_AS(apply_line<HealthcheckCommand>(b, "HEALTHCHECK --retries=x CMD true"), doctest::Contains("--retries"), Error);
    CHECK_THROWS_AS(apply_line<HealthcheckCommand>(b, "HEALTHCHECK --timeout=soon CMD true"), Error);
}
