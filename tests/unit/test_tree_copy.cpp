// copy_tree: docker cp's destination rules, cp -a's fidelity, and that neither side's
// symlinks or ".." can move a read or a write out of its root.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/tree_copy.hpp"
#include "scratch_dir.hpp"

using namespace minirun;
namespace stdfs = std::filesystem;

namespace {

std::string slurp(const stdfs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

void put(const stdfs::path& p, const std::string& text) {
    stdfs::create_directories(p.parent_path());
    std::ofstream(p) << text;
}

struct Roots {
    test::ScratchDir scratch{"tree-copy"};
    stdfs::path a = scratch.p / "a", b = scratch.p / "b", outside = scratch.p / "outside";
    fs::UniqueFd a_fd, b_fd;
    Roots() {
        stdfs::create_directories(a);
        stdfs::create_directories(b);
        stdfs::create_directories(outside);
        a_fd.reset(::open(a.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        b_fd.reset(::open(b.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    }
    void copy(const std::string& from, const std::string& to, TreeCopyOptions o = {}) {
        copy_tree({a_fd.get(), from, "a:" + from}, {b_fd.get(), to, "b:" + to}, o);
    }
};

}  // namespace

TEST_CASE("tree copy: docker cp's rules for files and directories") {
    Roots r;
    put(r.a / "f", "file");
    put(r.a / "d/x", "x");
    put(r.a / "d/sub/y", "y");
    stdfs::create_directories(r.b / "into");
    put(r.b / "existing", "old");

    r.copy("/f", "/new");  // onto a missing path: that file
    CHECK(slurp(r.b / "new") == "file");
    r.copy("/f", "/existing");  // onto a file: replaced
    CHECK(slurp(r.b / "existing") == "file");
    r.copy("/f", "/into");  // into a directory: its own name
    CHECK(slurp(r.b / "into/f") == "file");
    CHECK_THROWS_WITH_AS(r.copy("/f", "/missing/"), "b:/missing/: destination directory does not exist", Error);
    CHECK_THROWS_WITH_AS(r.copy("/f", "/no/such/f"), "b:/no/such/f: no such directory /no/such", Error);

    r.copy("/d", "/made");  // a directory onto a missing path: becomes it
    CHECK(slurp(r.b / "made/sub/y") == "y");
    r.copy("/d", "/into");  // into a directory: under its own name
    CHECK(slurp(r.b / "into/d/x") == "x");
    r.copy("/d/.", "/into");  // "/." : the contents only
    CHECK(slurp(r.b / "into/x") == "x");
    CHECK(slurp(r.b / "into/sub/y") == "y");
    CHECK_THROWS_WITH_AS(r.copy("/d", "/existing"), "b:/existing: cannot copy a directory to a file", Error);
    CHECK_THROWS_WITH_AS(r.copy("/f/", "/x"), "a:/f/: not a directory", Error);
    CHECK_THROWS_WITH_AS(r.copy("/nothing", "/x"), "a:/nothing: no such file or directory", Error);
}

TEST_CASE("tree copy: modes, times, owners, symlinks and fifos kept as cp -a keeps them") {
    Roots r;
    put(r.a / "d/run.sh", "#!/bin/sh");
    ::chown((r.a / "d/run.sh").c_str(), 1234, 5678);
    ::chmod((r.a / "d/run.sh").c_str(), 04750);  // after chown, which clears set-id bits
    struct timespec times[2] = {{1000000, 0}, {2000000, 0}};
    ::utimensat(AT_FDCWD, (r.a / "d/run.sh").c_str(), times, 0);
    ::symlink("run.sh", (r.a / "d/link").c_str());
    ::mkfifo((r.a / "d/pipe").c_str(), 0640);

    TreeCopyOptions keep;  // -a: the source's owners
    r.copy("/d", "/kept", keep);
    struct stat st {};
    REQUIRE(::lstat((r.b / "kept/run.sh").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 04750);
    CHECK(st.st_uid == 1234);
    CHECK(st.st_gid == 5678);
    CHECK(st.st_mtim.tv_sec == 2000000);
    CHECK(stdfs::read_symlink(r.b / "kept/link") == "run.sh");
    REQUIRE(::lstat((r.b / "kept/pipe").c_str(), &st) == 0);
    CHECK(S_ISFIFO(st.st_mode));

    TreeCopyOptions as_root;
    as_root.owner = std::pair<uid_t, gid_t>{0, 0};
    r.copy("/d", "/owned", as_root);
    REQUIRE(::lstat((r.b / "owned/run.sh").c_str(), &st) == 0);
    CHECK(st.st_uid == 0);
    CHECK((st.st_mode & 07777) == 04750);  // chmod after chown: the set-id bit survives

    // A symlink SRC is copied as the link, or (-L) as what it points at.
    r.copy("/d/link", "/l");
    CHECK(stdfs::is_symlink(r.b / "l"));
    TreeCopyOptions follow;
    follow.follow_source_link = true;
    r.copy("/d/link", "/lf", follow);
    CHECK(!stdfs::is_symlink(r.b / "lf"));
    CHECK(slurp(r.b / "lf") == "#!/bin/sh");
}

TEST_CASE("tree copy: symlinks and .. on either side stay inside their roots") {
    Roots r;
    put(r.outside / "secret", "host secret");
    put(r.a / "f", "payload");
    // The source side points out of its root: resolved inside it, so nothing is found.
    ::symlink((r.outside / "secret").c_str(), (r.a / "abs").c_str());
    ::symlink("../../../../outside/secret", (r.a / "rel").c_str());
    TreeCopyOptions follow;
    follow.follow_source_link = true;
    CHECK_THROWS_WITH_AS(r.copy("/abs", "/got", follow), "a:/abs: no such file or directory", Error);
    CHECK_THROWS_WITH_AS(r.copy("/rel", "/got", follow), "a:/rel: no such file or directory", Error);
    CHECK_THROWS_AS(r.copy("/../outside/secret", "/got"), Error);
    CHECK_FALSE(stdfs::exists(r.b / "got"));
    // /proc magic links are refused too.
    CHECK_THROWS_AS(r.copy("/proc/self/root/etc/hostname", "/got"), Error);

    // The destination side: a symlinked directory leading out is followed inside the root,
    // and a symlink where a file is written is replaced, never written through.
    ::symlink(r.outside.c_str(), (r.b / "escape").c_str());
    ::symlink((r.outside / "secret").c_str(), (r.b / "victim").c_str());
    CHECK_THROWS_AS(r.copy("/f", "/escape/secret"), Error);  // /escape → <b>/<outside path>: missing
    r.copy("/f", "/victim");
    CHECK(slurp(r.outside / "secret") == "host secret");
    CHECK(!stdfs::is_symlink(r.b / "victim"));
    CHECK(slurp(r.b / "victim") == "payload");
    // Merging a directory into one whose entry is a symlink out: refused, nothing written.
    put(r.a / "tree/escape/secret", "overwrite");
    stdfs::create_directories(r.b / "merge");
    ::symlink(r.outside.c_str(), (r.b / "merge/escape").c_str());
    CHECK_THROWS_AS(r.copy("/tree/.", "/merge"), Error);
    CHECK(slurp(r.outside / "secret") == "host secret");
}

TEST_CASE("tree copy: a tree deeper than the limit is refused") {
    Roots r;
    stdfs::path p = r.a / "deep";
    for (int i = 0; i < 12; ++i) p /= "d";
    stdfs::create_directories(p);
    TreeCopyOptions o;
    o.max_depth = 8;
    CHECK_THROWS_WITH_AS(r.copy("/deep", "/out", o), "a:/deep: deeper than 8 directories", Error);
}
