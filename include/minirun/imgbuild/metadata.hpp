#pragma once
// Metadata instructions (ENV, LABEL, USER, WORKDIR's path, EXPOSE, VOLUME, CMD, ENTRYPOINT,
// SHELL, STOPSIGNAL, HEALTHCHECK, ONBUILD, MAINTAINER) as pure functions on the typed
// config: no root, store or file system, so each is unit-tested on its own. Each applies
// one instruction and returns the text the image history records for it ("ENV a=1"),
// which also keys the build cache. Errors carry no file:line; the builder adds it.
#include <functional>
#include <string>
#include <vector>

#include "minirun/image/image_config.hpp"
#include "minirun/imgbuild/instructions.hpp"

namespace minirun::imgbuild {

// What metadata instructions change.
struct BuildConfig {
    image::ContainerConfig config;
    std::string author;    // MAINTAINER
    bool cmd_set = false;  // CMD given in this stage: a later ENTRYPOINT keeps only such a CMD
};

// Variable expansion with the ARG and ENV values in scope at the instruction.
struct Expander {
    std::function<std::string(const std::string&)> word;
    std::function<std::vector<std::string>(const std::string&)> words;  // with field splitting
};

// SHELL, or /bin/sh -c.
std::vector<std::string> shell_of(const image::ContainerConfig& c);
// What a CMD, ENTRYPOINT or RUN line runs: the exec form's words, or the shell with the line.
std::vector<std::string> command_words(const CommandLine& line, const image::ContainerConfig& c);

std::string apply(BuildConfig& b, const WorkdirCommand& w, const Expander& x);
std::string apply(BuildConfig& b, const EnvCommand& e, const Expander& x);
std::string apply(BuildConfig& b, const LabelCommand& l, const Expander& x);
std::string apply(BuildConfig& b, const UserCommand& u, const Expander& x);
std::string apply(BuildConfig& b, const ExposeCommand& e, const Expander& x);
std::string apply(BuildConfig& b, const VolumeCommand& v, const Expander& x);
std::string apply(BuildConfig& b, const CmdCommand& c, const Expander& x);
std::string apply(BuildConfig& b, const EntrypointCommand& e, const Expander& x);
std::string apply(BuildConfig& b, const ShellCommand& s, const Expander& x);
std::string apply(BuildConfig& b, const StopSignalCommand& s, const Expander& x);
std::string apply(BuildConfig& b, const HealthcheckCommand& h, const Expander& x);
std::string apply(BuildConfig& b, const OnbuildCommand& o, const Expander& x);
std::string apply(BuildConfig& b, const MaintainerCommand& m, const Expander& x);

}  // namespace minirun::imgbuild
