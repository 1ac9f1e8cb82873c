#include <doctest/doctest.h>

#include "minirun/imgbuild/containerfile.hpp"
#include "minirun/imgbuild/shell_expand.hpp"

using namespace minirun::imgbuild;

TEST_CASE("containerfile: multi-stage with AS names, ARG before FROM, flags") {
    auto cf = parse_containerfile(
        "# syntax=docker/dockerfile:1\n"
        "ARG BASE=alpine:3.19\n"
        "FROM --platform=linux/amd64 ${BASE} AS Builder\n"
        "run --mount=type=cache,target=/c --mount=type=tmpfs,target=/t --network=none make\n"
        "FROM scratch\n"
        "COPY --from=builder --chown=1:1 --chmod=755 /out /bin/app\n"
        "ADD --checksum=sha256:abc https://x/y /y\n"
        "CMD [\"/bin/app\", \"-v\"]\n",
        "Containerfile");
    CHECK(cf.directives.syntax == "docker/dockerfile:1");
    REQUIRE(cf.meta_args.size() == 1);
    CHECK(cf.meta_args[0].args == std::vector<std::string>{"BASE=alpine:3.19"});
    REQUIRE(cf.stages.size() == 2);
    CHECK(cf.stages[0].name == "builder");
    CHECK(cf.stages[0].base_image == "${BASE}");
    CHECK(cf.stages[0].platform == "linux/amd64");
    REQUIRE(cf.stages[0].instructions.size() == 1);
    const auto& run = cf.stages[0].instructions[0];
    CHECK(run.keyword == "RUN");
    CHECK(run.args == std::vector<std::string>{"make"});
    CHECK(run.flag_values("mount").size() == 2);
    CHECK(run.flag("network") == "none");
    CHECK(cf.stages[1].name.empty());
    const auto& copy = cf.stages[1].instructions[0];
    CHECK(copy.flag("from") == "builder");
    CHECK(copy.flag("chown") == "1:1");
    CHECK(copy.flag("chmod") == "755");
    CHECK(cf.stages[1].instructions[1].flag("checksum") == "sha256:abc");
    const auto& cmd = cf.stages[1].instructions[2];
    CHECK(cmd.json);
    CHECK(cmd.args == std::vector<std::string>{"/bin/app", "-v"});
    CHECK(cmd.line == 8);
    CHECK(cf.find_stage("BUILDER") == &cf.stages[0]);
    CHECK(cf.find_stage("1") == &cf.stages[1]);
}

TEST_CASE("containerfile: heredocs") {
    auto ins = parse_instructions(
        "FROM alpine\n"
        "RUN <<EOF\n"
        "echo $HOME\n"
        "EOF\n"
        "RUN <<-\"END\" cat >/a && cat <<two >/b\n"
        "\t\tliteral $X\n"
        "\tEND\n"
        "second\n"
        "two\n"
        "COPY <<EOF /path\n"
        "hello\n"
        "EOF\n"
        "CMD done\n");
    REQUIRE(ins.size() == 5);
    REQUIRE(ins[1].heredocs.size() == 1);
    CHECK(ins[1].heredocs[0].name == "EOF");
    CHECK(ins[1].heredocs[0].content == "echo $HOME\n");
    CHECK(ins[1].heredocs[0].expand);
    REQUIRE(ins[2].heredocs.size() == 2);
    CHECK(ins[2].heredocs[0].name == "END");
    CHECK(ins[2].heredocs[0].chomp);
    CHECK_FALSE(ins[2].heredocs[0].expand);
    CHECK(ins[2].heredocs[0].content == "literal $X\n");
    CHECK(ins[2].heredocs[1].name == "two");
    CHECK(ins[2].heredocs[1].content == "second\n");
    CHECK(ins[3].keyword == "COPY");
    CHECK(ins[3].args == std::vector<std::string>{"<<EOF", "/path"});
    REQUIRE(ins[3].heredocs.size() == 1);
    CHECK(ins[3].heredocs[0].content == "hello\n");
    CHECK(ins[4].keyword == "CMD");
    CHECK(ins[4].line == 13);

    try {
        parse_instructions("FROM a\nRUN <<EOF\nno end\n", "Containerfile");
        FAIL("expected an error");
    } catch (const ParseError& e) {
        CHECK(e.line() == 2);
        CHECK(std::string(e.what()).find("unterminated heredoc") != std::string::npos);
    }
}

TEST_CASE("containerfile: escape directive and continuations") {
    auto ins = parse_instructions("# ESCAPE=`\n\nFROM windows\nRUN dir C:\\ `\n  # comment\n\n  /w\n");
    REQUIRE(ins.size() == 2);
    CHECK(ins[1].args == std::vector<std::string>{"dir C:\\   /w"});
    CHECK(ins[1].line == 4);
    CHECK(ins[1].end_line == 7);
    // A directive after a comment is just a comment.
    auto ins2 = parse_instructions("# hello\n# escape=`\nFROM a\nRUN x \\\n y\n");
    CHECK(ins2[1].args == std::vector<std::string>{"x  y"});
    CHECK_THROWS_AS(parse_instructions("# escape=x\nFROM a\n"), ParseError);
    CHECK_THROWS_AS(parse_instructions("# escape=`\n# escape=\\\nFROM a\n"), ParseError);
}

TEST_CASE("containerfile: errors carry file:line:col and a caret") {
    try {
        parse_containerfile("FROM alpine\n\n  RUNN echo hi\n", "Containerfile");
        FAIL("expected an error");
    } catch (const ParseError& e) {
        CHECK(std::string(e.what()) == "Containerfile:3:3: unknown instruction: RUNN");
        CHECK(e.pretty() == "Containerfile:3:3: unknown instruction: RUNN\n  RUNN echo hi\n  ^");
    }
    try {
        parse_containerfile("FROM alpine\nCOPY --form=a x /y\n", "cf");
        FAIL("expected an error");
    } catch (const ParseError& e) {
        CHECK(e.line() == 2);
        CHECK(e.column() == 6);
        CHECK(std::string(e.what()) == "cf:2:6: unknown flag: form");
    }
    try {
        parse_containerfile("FROM alpine\nENV PATH\n", "cf");
        FAIL("expected an error");
    } catch (const ParseError& e) {
        CHECK(std::string(e.what()) == "cf:2:1: ENV must have two arguments");
    }
    CHECK_THROWS_AS(parse_containerfile("RUN echo\nFROM a\n"), ParseError);
    CHECK_THROWS_AS(parse_containerfile("FROM a AS x\nFROM b AS X\n"), ParseError);
    CHECK_THROWS_AS(parse_containerfile("FROM a AS 1x\n"), ParseError);
    CHECK_THROWS_AS(parse_containerfile("FROM a BS x\n"), ParseError);
    CHECK_THROWS_AS(parse_containerfile("FROM a\nCMD [\"a\", [1]]\n"), ParseError);
    CHECK_THROWS_AS(parse_containerfile("FROM a\nONBUILD ONBUILD RUN x\n"), ParseError);
    CHECK_THROWS_AS(parse_containerfile("FROM a\nCOPY x\n"), ParseError);
    CHECK_THROWS_AS(parse_containerfile("# only a comment\n"), ParseError);
}

TEST_CASE("containerfile: shell expansion") {
    ShellEnv env{{"A", "a b"}, {"E", ""}, {"P", "/usr/local/bin"}};
    CHECK(expand_word("${A}-$A-'$A'-\"$A\"", env) == "a b-a b-$A-a b");
    CHECK(expand_word("${E:-x}${E-y}${A:+z}${U+w}", env) == "xz");
    CHECK_THROWS_AS(expand_word("${U:?must be set}", env), minirun::Error);
    CHECK(expand_word("${P#*/}|${P##*/}|${P%/*}|${P%%/*}", env) == "usr/local/bin|bin|/usr/local|");
    CHECK(expand_word("${P/local/opt}|${P//[a-z]/x}", env) == "/usr/opt/bin|/xxx/xxxxx/xxx");
    CHECK(expand_word("a`$A", env, '`') == "a$A");
    CHECK(expand_words("x $A \"$A\"", env) == std::vector<std::string>{"x", "a", "b", "a b"});
    CHECK(instruction_expands("copy"));
    CHECK(instruction_expands("ARG"));
    CHECK_FALSE(instruction_expands("RUN"));
    CHECK_FALSE(instruction_expands("ONBUILD"));
}

TEST_CASE("containerfile: ONBUILD and HEALTHCHECK") {
    auto cf = parse_containerfile("FROM a\nONBUILD COPY --chown=1 . /app\nHEALTHCHECK --interval=5s CMD [\"true\"]\n");
    const auto& ob = cf.stages[0].instructions[0];
    REQUIRE(ob.trigger.size() == 1);
    CHECK(ob.trigger[0].keyword == "COPY");
    CHECK(ob.trigger[0].flag("chown") == "1");
    CHECK(ob.dump() == "(onbuild (copy [\"--chown=1\"] \".\" \"/app\"))");
    const auto& hc = cf.stages[0].instructions[1];
    CHECK(hc.args == std::vector<std::string>{"CMD", "true"});
    CHECK(hc.json);
}
