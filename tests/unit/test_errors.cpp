// Errors keep their kind and errno across wrapping and across process boundaries.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <doctest/doctest.h>

#include "../../src/runtime/sync_channel.hpp"
#include "minirun/common/error.hpp"
#include "minirun/common/names.hpp"
#include "minirun/registry/http.hpp"
#include "minirun/runtime/container.hpp"
#include "minirun/runtime/process_setup.hpp"

using namespace minirun;

TEST_CASE("errors: a failed call's errno decides its kind, and wrapping keeps both") {
    Error e = errno_error("open /x", ENOENT);
    CHECK(e.kind() == ErrorKind::NotFound);
    CHECK(e.sys_errno() == ENOENT);
    CHECK(std::string(e.what()) == "open /x: no such file or directory");
    Error w = wrap_error(wrap_error(e, "mount /proc"), "create container web");
    CHECK(std::string(w.what()) == "create container web: mount /proc: open /x: no such file or directory");
    CHECK(w.kind() == ErrorKind::NotFound);
    CHECK(w.sys_errno() == ENOENT);
    CHECK(kind_of_errno(EEXIST) == ErrorKind::Conflict);
    CHECK(kind_of_errno(EINVAL) == ErrorKind::InvalidArgument);
    CHECK(kind_of_errno(EACCES) == ErrorKind::PermissionDenied);
    CHECK(kind_of_errno(ECONNREFUSED) == ErrorKind::Unavailable);
    CHECK(kind_of_errno(EIO) == ErrorKind::Internal);
    try {
        throw_errno("rmdir /y", ENOTEMPTY);
    } catch (const Error& t) {
        CHECK(t.kind() == ErrorKind::Conflict);
        CHECK(t.sys_errno() == ENOTEMPTY);
    }
}

TEST_CASE("errors: records round-trip and reject anything malformed") {
    ErrorRecord r{ErrorKind::PermissionDenied, EACCES, 126, "exec /app: permission denied"};
    std::string wire = encode_error_record(r);
    auto back = decode_error_record(wire);
    REQUIRE(back);
    CHECK(back->kind == r.kind);
    CHECK(back->sys_errno == EACCES);
    CHECK(back->status == 126);
    CHECK(back->message == r.message);
    // A message that merely reads like an error is not one.
    CHECK_FALSE(decode_error_record("error:125:exec failed"));
    CHECK_FALSE(decode_error_record(wire.substr(0, wire.size() - 1)));  // truncated
    CHECK_FALSE(decode_error_record(wire + "x"));                       // trailing bytes
    std::string bad_kind = wire;
    bad_kind[4] = 99;
    CHECK_FALSE(decode_error_record(bad_kind));
    std::string huge_length = wire;
    huge_length[16] = '\x7f';  // length's top byte: far past the end
    CHECK_FALSE(decode_error_record(huge_length));
    ErrorRecord empty{};
    auto e = decode_error_record(encode_error_record(empty));
    REQUIRE(e);
    CHECK(e->message.empty());
}

TEST_CASE("errors: ErrorRecord::of keeps a minirun::Error's kind and errno, not other exceptions'") {
    auto r = ErrorRecord::of(runtime::ExecError("exec: \"nope\": executable file not found in $PATH", ENOENT), 127);
    CHECK(r.kind == ErrorKind::NotFound);
    CHECK(r.sys_errno == ENOENT);
    CHECK(r.status == 127);
    auto o = ErrorRecord::of(std::runtime_error("boom"));
    CHECK(o.kind == ErrorKind::Internal);
    CHECK(o.sys_errno == 0);
    CHECK(o.message == "boom");
}

TEST_CASE("errors: exec failures have a shell's statuses, decided by errno") {
    CHECK(runtime::ExecError("exec /x: no such file or directory", ENOENT).status() == 127);
    CHECK(runtime::ExecError("exec /x: permission denied", EACCES).status() == 126);
    CHECK(runtime::ExecError("exec /x: exec format error", ENOEXEC).status() == 126);
    runtime::Process p;
    p.args = {"surely-not-a-command-anywhere"};
    p.env = {"PATH=/nonexistent"};
    try {
        runtime::find_executable(p);
        FAIL("found a command that does not exist");
    } catch (const runtime::ExecError& e) {
        CHECK(e.status() == 127);
        CHECK(e.kind() == ErrorKind::NotFound);
    }
}

TEST_CASE("errors: kinds and errno cross the init's sync channel") {
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
    runtime::SyncChannel init{sv[0]}, parent{sv[1]};
    CHECK(parent.send(runtime::SyncType::HooksDone, R"({"id":"c1"})"));
    CHECK(init.expect(runtime::SyncType::HooksDone, "hooks") == R"({"id":"c1"})");
    // Messages longer than the stack buffer arrive whole, in order with short ones.
    const std::string state(40000, 'x');
    CHECK(parent.send(runtime::SyncType::HooksDone, state));
    CHECK(parent.send(runtime::SyncType::Go));
    CHECK(init.expect(runtime::SyncType::HooksDone, "hooks") == state);
    CHECK(init.expect(runtime::SyncType::Go, "go").empty());
    // The init fails: the runtime gets kind, errno and status, not text to search.
    CHECK(init.send_error(ErrorRecord::of(errno_error("mount /proc", EPERM), 1)));
    auto msg = parent.recv();
    REQUIRE(msg);
    REQUIRE(msg->type == runtime::SyncType::Failed);
    runtime::InitError err(runtime::failure_of(*msg), 1);
    CHECK(err.kind() == ErrorKind::PermissionDenied);
    CHECK(err.sys_errno() == EPERM);
    CHECK(err.status == 1);
    CHECK(std::string(err.what()) == "mount /proc: operation not permitted");
    // expect() turns a failure into the peer's error, kind included.
    CHECK(parent.send_error(ErrorRecord{ErrorKind::Conflict, EEXIST, 0, "mkdir /run: file exists"}));
    try {
        init.expect(runtime::SyncType::Go, "go");
        FAIL("expect accepted a failure");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::Conflict);
        CHECK(e.sys_errno() == EEXIST);
    }
    // A wrong type is an error; EOF is Unavailable.
    CHECK(parent.send(runtime::SyncType::Ready));
    CHECK_THROWS_AS(init.expect(runtime::SyncType::Go, "go"), Error);
    ::close(sv[1]);
    try {
        init.expect(runtime::SyncType::Go, "go");
        FAIL("expect accepted EOF");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::Unavailable);
    }
    // An unknown type byte is refused, not misread.
    int sv2[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv2) == 0);
    char junk = 42;
    REQUIRE(::send(sv2[1], &junk, 1, 0) == 1);
    runtime::SyncChannel r{sv2[0]};
    CHECK_THROWS_AS(r.recv(), Error);
    ::close(sv[0]);
    ::close(sv2[0]);
    ::close(sv2[1]);
}

TEST_CASE("errors: registry transport failures are Errors of kind Unavailable") {
    minirun::registry::TransportError e("GET https://r/v2/: Timeout was reached", 28);
    const minirun::Error& base = e;
    CHECK(base.kind() == minirun::ErrorKind::Unavailable);
    CHECK(std::string(base.what()) == "GET https://r/v2/: Timeout was reached");
}

TEST_CASE("names: one rule for container, volume and network names and runtime ids") {
    for (const char* ok : {"a", "web-1", "db_data", "my.app", "0x"}) CHECK(minirun::is_valid_object_name(ok));
    for (const char* bad : {"", "-web", ".x", "_x", "a b", "a/b", "a:b", "é"}) CHECK_FALSE(minirun::is_valid_object_name(bad));
    CHECK(minirun::is_valid_object_name(std::string(64, 'a'), 64));
    CHECK_FALSE(minirun::is_valid_object_name(std::string(65, 'a'), 64));
}
