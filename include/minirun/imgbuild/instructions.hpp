#pragma once
// Containerfile instructions, typed: each parsed instruction (containerfile.hpp's
// syntax node, `Instruction`) becomes one struct of its own, once, before any build work,
// so a bad ENV or a missing argument is refused at its line before the first step runs.
// The builder dispatches on the variant with one std::visit; words stay unexpanded here
// (expansion needs the build's ARG and ENV values at that step).
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "minirun/imgbuild/containerfile.hpp"

namespace minirun::imgbuild {

// CMD, ENTRYPOINT, RUN and HEALTHCHECK CMD: the exec form's words, or the shell form's
// one line (run by the image's SHELL).
struct CommandLine {
    std::vector<std::string> words;
    bool exec_form = false;
};

struct KeyValue {
    std::string key, value;
    bool operator==(const KeyValue&) const = default;
};

struct RunCommand {
    CommandLine command;
    std::vector<std::string> mounts;  // --mount specs, in order
    std::string network = "default";  // --network: default, host or none
    bool security = false;            // --security given (refused by the builder)
    std::vector<Heredoc> heredocs;
};

struct CopyCommand {
    bool add = false;                  // ADD: URLs, archives unpacked, --checksum
    std::vector<std::string> sources;  // as written
    std::string dest;
    std::optional<std::string> from, chown, chmod;
    std::string checksum;
    bool unpack = true;                   // ADD --unpack=false keeps an archive as a file
    std::vector<std::string> excludes;    // --exclude patterns (ignore-file syntax)
    bool parents = false;                 // COPY --parents: sources keep their directories
    std::vector<std::string> unsupported;  // flags imgbuild does not implement yet, as named
    std::vector<Heredoc> heredocs;
};

struct WorkdirCommand { std::string path; };
struct EnvCommand { std::vector<KeyValue> pairs; };
struct LabelCommand { std::vector<KeyValue> pairs; };
struct ArgCommand {
    struct Declaration {
        std::string name;
        std::optional<std::string> default_value;
    };
    std::vector<Declaration> declarations;
};
struct UserCommand { std::string user; };
struct ExposeCommand { std::vector<std::string> ports; };
struct VolumeCommand { std::vector<std::string> paths; };
struct CmdCommand { CommandLine command; };
struct EntrypointCommand { CommandLine command; };
struct ShellCommand { std::vector<std::string> shell; };
struct StopSignalCommand { std::string signal; };
struct HealthcheckCommand {
    bool none = false;  // HEALTHCHECK NONE
    CommandLine command;
    std::optional<std::string> interval, timeout, start_period, start_interval, retries;
};
struct OnbuildCommand { std::string trigger; };  // the trigger's text, run by a later FROM
struct MaintainerCommand { std::string name; };

using Command = std::variant<RunCommand, CopyCommand, WorkdirCommand, EnvCommand, LabelCommand, ArgCommand, UserCommand,
                             ExposeCommand, VolumeCommand, CmdCommand, EntrypointCommand, ShellCommand, StopSignalCommand,
                             HealthcheckCommand, OnbuildCommand, MaintainerCommand>;

// Throws Error (without the file:line, which the caller knows) for what the syntax level
// lets through but no build can run: ENV =x, an unknown instruction, FROM (stages are
// split before this).
Command to_command(const Instruction& ins);

}  // namespace minirun::imgbuild
