// Layer unpacking: archives are built in memory with libarchive and fed through real fds.
#include <archive.h>
#include <archive_entry.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <clocale>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "../../src/image/unpack_fs.hpp"
#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/sha256.hpp"
#include "minirun/image/unpack.hpp"

namespace stdfs = std::filesystem;
using minirun::image::UnpackOptions;
using minirun::image::UnpackResult;
using minirun::image::unpack_layer;

namespace {

bool is_root() { return ::geteuid() == 0; }

// One tar entry; a non-empty `hardlink` makes it a hardlink.
struct E {
    std::string path{};
    mode_t type = AE_IFREG;
    mode_t perm = 0644;
    std::string data{};
    std::string symlink{};
    std::string hardlink{};
    time_t mtime = 1600000000;
    int64_t uid = 0;
    int64_t gid = 0;
    dev_t rdev = 0;
    std::vector<std::pair<std::string, std::string>> xattrs{};
};

la_ssize_t append_cb(archive*, void* client, const void* buf, size_t len) {
    static_cast<std::string*>(client)->append(static_cast<const char*>(buf), len);
    return static_cast<la_ssize_t>(len);
}

void write_entry(archive* a, const E& e) {
    archive_entry* ae = archive_entry_new();
    archive_entry_set_pathname_utf8(ae, e.path.c_str());  // pax stores UTF-8 whatever the locale
    archive_entry_set_filetype(ae, e.type);
    archive_entry_set_perm(ae, e.perm);
    archive_entry_set_mtime(ae, e.mtime, 0);
    archive_entry_set_uid(ae, e.uid);
    archive_entry_set_gid(ae, e.gid);
    if (!e.symlink.empty()) archive_entry_set_symlink(ae, e.symlink.c_str());
    if (!e.hardlink.empty()) archive_entry_set_hardlink(ae, e.hardlink.c_str());
    if (e.rdev) archive_entry_set_rdev(ae, e.rdev);
    for (const auto& [k, v] : e.xattrs) archive_entry_xattr_add_entry(ae, k.c_str(), v.data(), v.size());
    archive_entry_set_size(ae, static_cast<la_int64_t>(e.data.size()));
    REQUIRE(archive_write_header(a, ae) == ARCHIVE_OK);
    if (!e.data.empty()) {
        REQUIRE(archive_write_data(a, e.data.data(), e.data.size()) == static_cast<la_ssize_t>(e.data.size()));
    }
    archive_entry_free(ae);
}

// A plain pax tar, padded by libarchive to its 10 KiB block (zeros after the end marker).
std::string make_tar(const std::vector<E>& entries) {
    std::string out;
    archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    REQUIRE(archive_write_open(a, &out, nullptr, append_cb, nullptr) == ARCHIVE_OK);
    for (const auto& e : entries) write_entry(a, e);
    REQUIRE(archive_write_close(a) == ARCHIVE_OK);
    archive_write_free(a);
    return out;
}

// Compresses raw bytes with a libarchive filter (ARCHIVE_FILTER_GZIP / _ZSTD), no padding.
std::string compress(const std::string& raw, int filter) {
    std::string out;
    archive* a = archive_write_new();
    REQUIRE(archive_write_add_filter(a, filter) == ARCHIVE_OK);
    archive_write_set_format_raw(a);
    archive_write_set_bytes_in_last_block(a, 1);
    REQUIRE(archive_write_open(a, &out, nullptr, append_cb, nullptr) == ARCHIVE_OK);
    write_entry(a, E{.path = "raw", .data = raw});
    REQUIRE(archive_write_close(a) == ARCHIVE_OK);
    archive_write_free(a);
    return out;
}

std::string gzip(const std::string& raw) { return compress(raw, ARCHIVE_FILTER_GZIP); }

std::string random_bytes(size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    return s;
}

UnpackOptions options(bool overlay = false) {
    UnpackOptions o;
    o.layer_name = "sha256:test";
    o.overlay_whiteouts = overlay;
    o.preserve_owners = is_root();
    o.allow_devices = is_root();
    return o;
}

enum class Feed { File, Pipe };

// A unique directory under /tmp holding the destination "root"; removed afterwards.
struct Scratch {
    stdfs::path base;
    stdfs::path dest;

    Scratch() {
        std::string tmpl = "/tmp/minirun-unpack-XXXXXX";
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        base = tmpl;
        dest = base / "root";
        stdfs::create_directory(dest);
    }
    ~Scratch() {
        if (!is_root()) make_removable(base);
        std::error_code ec;
        stdfs::remove_all(base, ec);
    }

    // Without root, a layer's directory modes (0644, 0555) would keep remove_all out.
    static void make_removable(const stdfs::path& dir) {
        struct stat st {};
        if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return;
        ::chmod(dir.c_str(), st.st_mode | S_IRWXU);
        std::error_code ec;
        for (const auto& d : stdfs::directory_iterator(dir, ec)) make_removable(d.path());
    }

    UnpackResult unpack(const std::string& layer, const UnpackOptions& opts, Feed feed = Feed::File) {
        return feed == Feed::File ? from_file(layer, opts) : from_pipe(layer, opts);
    }

    // The error message of a failing unpack ("" when it succeeds).
    std::string error(const std::string& layer, const UnpackOptions& opts, Feed feed = Feed::File) {
        try {
            unpack(layer, opts, feed);
        } catch (const minirun::Error& e) {
            return e.what();
        }
        return "";
    }

    // Names directly in `base`: anything besides "root" and the layer file escaped.
    std::set<std::string> outside() const {
        std::set<std::string> names;
        for (const auto& d : stdfs::directory_iterator(base)) names.insert(d.path().filename().string());
        names.erase("layer");
        return names;
    }

    stdfs::path operator/(const std::string& rel) const { return dest / rel; }

private:
    UnpackResult from_file(const std::string& layer, const UnpackOptions& opts) {
        stdfs::path file = base / "layer";
        std::ofstream(file, std::ios::binary).write(layer.data(), static_cast<std::streamsize>(layer.size()));
        minirun::fs::UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
        REQUIRE(fd);
        return unpack_layer(fd.get(), dest, opts);
    }

    // A writer thread feeds the pipe in odd-sized pieces, as a downloader would.
    UnpackResult from_pipe(const std::string& layer, const UnpackOptions& opts) {
        std::signal(SIGPIPE, SIG_IGN);  // the reader may stop early on errors
        int p[2];
        REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
        minirun::fs::UniqueFd rd(p[0]);
        std::thread writer([w = p[1], &layer] {
            for (size_t off = 0; off < layer.size();) {
                ssize_t n = ::write(w, layer.data() + off, std::min<size_t>(layer.size() - off, 7777));
                if (n < 0 && errno == EINTR) continue;
                if (n <= 0) break;
                off += static_cast<size_t>(n);
            }
            ::close(w);
        });
        try {
            auto r = unpack_layer(rd.get(), dest, opts);
            rd.reset();
            writer.join();
            return r;
        } catch (...) {
            rd.reset();
            writer.join();
            throw;
        }
    }
};

struct stat lstat_of(const stdfs::path& p) {
    struct stat st {};
    REQUIRE(::lstat(p.c_str(), &st) == 0);
    return st;
}

std::string read_all(const stdfs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

std::string get_xattr(const stdfs::path& p, const char* name) {
    char buf[256];
    ssize_t n = ::lgetxattr(p.c_str(), name, buf, sizeof buf);
    return n < 0 ? std::string("<none>") : std::string(buf, static_cast<size_t>(n));
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

// Unique per run, so a name at "/" can only exist if this run put it there.
std::string unique_name(const char* stem) { return std::string(stem) + "-" + minirun::fs::unique_suffix(); }

std::vector<E> sample_entries(const std::string& big) {
    return {
        E{.path = "usr/", .type = AE_IFDIR, .perm = 0755, .mtime = 1000},
        E{.path = "usr/bin/", .type = AE_IFDIR, .perm = 0711, .mtime = 2000},
        E{.path = "usr/bin/tool", .perm = 04755, .data = "#!/bin/sh\necho hi\n", .mtime = 3000, .uid = 1234,
          .gid = 5678, .xattrs = {{"user.test", "hello"}}},
        E{.path = "usr/bin/link", .type = AE_IFLNK, .perm = 0777, .symlink = "tool", .mtime = 3500},
        E{.path = "usr/bin/tool2", .hardlink = "usr/bin/tool"},
        E{.path = "./tmp/", .type = AE_IFDIR, .perm = 01777, .mtime = 4000},
        E{.path = "data/big.bin", .perm = 0600, .data = big},
        E{.path = "late/file", .data = "x"},
        E{.path = "late/", .type = AE_IFDIR, .perm = 0750, .mtime = 5000},
        E{.path = "run/fifo", .type = AE_IFIFO, .perm = 0620},
        E{.path = "dangling", .type = AE_IFLNK, .symlink = "/nowhere/at/all"},
    };
}

void check_sample(const Scratch& s, const std::string& big) {
    auto tool = lstat_of(s / "usr/bin/tool");
    CHECK(S_ISREG(tool.st_mode));
    CHECK((tool.st_mode & 07777) == 04755);
    CHECK(tool.st_mtim.tv_sec == 3000);
    CHECK(read_all(s / "usr/bin/tool") == "#!/bin/sh\necho hi\n");
    CHECK(get_xattr(s / "usr/bin/tool", "user.test") == "hello");
    if (is_root()) {
        CHECK(tool.st_uid == 1234);
        CHECK(tool.st_gid == 5678);
    }
    CHECK(tool.st_nlink == 2);
    CHECK(lstat_of(s / "usr/bin/tool2").st_ino == tool.st_ino);
    CHECK(stdfs::read_symlink(s / "usr/bin/link") == "tool");
    CHECK(lstat_of(s / "usr/bin/link").st_mtim.tv_sec == 3500);
    CHECK(stdfs::read_symlink(s / "dangling") == "/nowhere/at/all");
    // Directory metadata survives the entries written into them afterwards.
    auto bin = lstat_of(s / "usr/bin");
    CHECK((bin.st_mode & 07777) == 0711);
    CHECK(bin.st_mtim.tv_sec == 2000);
    CHECK(lstat_of(s / "usr").st_mtim.tv_sec == 1000);
    CHECK((lstat_of(s / "tmp").st_mode & 07777) == 01777);
    auto late = lstat_of(s / "late");
    CHECK((late.st_mode & 07777) == 0750);
    CHECK(late.st_mtim.tv_sec == 5000);
    CHECK((lstat_of(s / "data").st_mode & 07777) == 0755);  // implied directory
    CHECK(read_all(s / "data/big.bin") == big);
    auto fifo = lstat_of(s / "run/fifo");
    CHECK(S_ISFIFO(fifo.st_mode));
    CHECK((fifo.st_mode & 07777) == 0620);
}

}  // namespace

TEST_CASE("unpack: gzip layer with files, dirs, links, modes, owners, mtimes and xattrs") {
    std::string big = random_bytes(3 << 20, 1);
    std::string tar = make_tar(sample_entries(big));
    Scratch s;
    auto r = s.unpack(gzip(tar), options());
    check_sample(s, big);
    CHECK(r.diff_id == minirun::sha256_digest(tar));
    CHECK(r.uncompressed_size == tar.size());
    CHECK(r.entries == 11);
    CHECK(s.outside() == std::set<std::string>{"root"});
}

TEST_CASE("unpack: plain tar through a pipe hashes the padding after the end marker") {
    std::string big = random_bytes(1 << 20, 2);
    std::string tar = make_tar(sample_entries(big));
    REQUIRE(tar.size() % 10240 == 0);  // libarchive's block padding is part of the stream
    Scratch s;
    auto r = s.unpack(tar, options(), Feed::Pipe);
    check_sample(s, big);
    CHECK(r.diff_id == minirun::sha256_digest(tar));
    CHECK(r.uncompressed_size == tar.size());
}

TEST_CASE("unpack: zstd layer, gzip through a pipe, concatenated gzip members") {
    std::string ab = random_bytes(600 << 10, 3);
    std::string tar = make_tar({E{.path = "a/b", .data = ab}, E{.path = "c", .data = "c"}});
    std::string digest = minirun::sha256_digest(tar);
    SUBCASE("zstd") {
        Scratch s;
        CHECK(s.unpack(compress(tar, ARCHIVE_FILTER_ZSTD), options()).diff_id == digest);
        CHECK(read_all(s / "c") == "c");
    }
    SUBCASE("gzip through a pipe") {
        Scratch s;
        CHECK(s.unpack(gzip(tar), options(), Feed::Pipe).diff_id == digest);
        CHECK(read_all(s / "a/b") == ab);
    }
    SUBCASE("gzip members") {
        size_t half = tar.size() / 2 + 123;
        Scratch s;
        auto r = s.unpack(gzip(tar.substr(0, half)) + gzip(tar.substr(half)), options(), Feed::Pipe);
        CHECK(r.diff_id == digest);
        CHECK(read_all(s / "c") == "c");
    }
}

TEST_CASE("unpack: names climbing out of the root are refused") {
    for (std::string name : {"../escape", "a/../../escape", "./../escape", "a/b/../../../escape"}) {
        CAPTURE(name);
        Scratch s;
        std::string err = s.error(make_tar({E{.path = "a/", .type = AE_IFDIR}, E{.path = name, .data = "x"}}), options());
        CHECK(err == "layer sha256:test: entry \"" + name + "\": path escapes the layer root");
        CHECK(s.outside() == std::set<std::string>{"root"});
    }
}

TEST_CASE("unpack: absolute names and harmless dot-dots land inside the root") {
    Scratch s;
    s.unpack(make_tar({E{.path = "/etc/x", .data = "inside"}, E{.path = "a/../b", .data = "b"}}), options());
    CHECK(read_all(s / "etc/x") == "inside");
    CHECK(read_all(s / "b") == "b");
    CHECK(s.outside() == std::set<std::string>{"root"});
}

TEST_CASE("unpack: writing through a planted symlink stays inside the root") {
    std::string pwned = unique_name("pwned");
    for (std::string target : {"/", "../../..", "/../../tmp", "../"}) {
        CAPTURE(target);
        Scratch s;
        s.unpack(gzip(make_tar({E{.path = "tmp/", .type = AE_IFDIR, .perm = 0755},
                                E{.path = "evil", .type = AE_IFLNK, .symlink = target},
                                E{.path = "evil/" + pwned, .data = "gotcha"},
                                E{.path = "evil/sub/deeper", .data = "deep"}})),
                 options());
        CHECK(s.outside() == std::set<std::string>{"root"});
        CHECK(!stdfs::exists("/" + pwned));
        CHECK(!stdfs::exists("/tmp/" + pwned));
        // Resolved as if the root were "/": the file is in the root itself (or /tmp inside it).
        bool inside = stdfs::exists(s / pwned) || stdfs::exists(s / ("tmp/" + pwned));
        CHECK(inside);
    }
}

TEST_CASE("unpack: a directory entry over a symlink replaces the symlink") {
    Scratch s;
    stdfs::create_directory(s.base / "victim");
    std::string victim = (s.base / "victim").string();
    s.unpack(make_tar({E{.path = "d", .type = AE_IFLNK, .symlink = victim},
                       E{.path = "d/", .type = AE_IFDIR, .perm = 0700},
                       E{.path = "d/f", .data = "f"}}),
             options());
    CHECK(stdfs::is_empty(s.base / "victim"));
    CHECK(S_ISDIR(lstat_of(s / "d").st_mode));
    CHECK(read_all(s / "d/f") == "f");
}

TEST_CASE("unpack: an entry over a symlink replaces the symlink, never writes through it") {
    Scratch s;
    stdfs::path victim = s.base / "victim";
    std::ofstream(victim) << "orig";
    s.unpack(make_tar({E{.path = "f", .type = AE_IFLNK, .symlink = victim.string()},
                       E{.path = "f", .data = "new"},
                       E{.path = "h", .type = AE_IFLNK, .symlink = victim.string()},
                       E{.path = "h", .hardlink = "f"}}),
             options());
    CHECK(read_all(victim) == "orig");
    CHECK(read_all(s / "f") == "new");
    CHECK(lstat_of(s / "h").st_ino == lstat_of(s / "f").st_ino);
}

TEST_CASE("unpack: xattrs on symlinks, overlay xattrs from the archive are ignored") {
    if (!is_root()) {
        MESSAGE("not root: trusted.* xattrs not testable");
        return;
    }
    Scratch s;
    s.unpack(make_tar({E{.path = "l", .type = AE_IFLNK, .symlink = "/x", .xattrs = {{"trusted.minirun", "v"}}},
                       E{.path = "d/", .type = AE_IFDIR, .xattrs = {{"trusted.overlay.opaque", "y"}}},
                       E{.path = "u", .type = AE_IFLNK, .symlink = "x", .xattrs = {{"user.refused", "v"}}}}),
             options(true));
    CHECK(get_xattr(s / "l", "trusted.minirun") == "v");
    CHECK(get_xattr(s / "d", "trusted.overlay.opaque") == "<none>");
    CHECK(S_ISLNK(lstat_of(s / "u").st_mode));  // user.* on a symlink: EPERM, only a warning
}

TEST_CASE("unpack: hardlinks cannot reach host files") {
    struct stat before = lstat_of("/etc/passwd");
    SUBCASE("relative escape is refused") {
        Scratch s;
        std::string err = s.error(make_tar({E{.path = "x", .hardlink = "../../etc/passwd"}}), options());
        CHECK(err == "layer sha256:test: entry \"x\": hardlink target escapes the layer root");
    }
    SUBCASE("absolute target means the layer's own /etc/passwd") {
        Scratch s;
        CHECK(contains(s.error(make_tar({E{.path = "x", .hardlink = "/etc/passwd"}}), options()),
                       "entry \"x\": hardlink target etc/passwd"));
        Scratch t;
        t.unpack(make_tar({E{.path = "etc/passwd", .data = "layer's own"}, E{.path = "x", .hardlink = "/etc/passwd"}}),
                 options());
        CHECK(lstat_of(t / "x").st_ino == lstat_of(t / "etc/passwd").st_ino);
        CHECK(read_all(t / "x") == "layer's own");
    }
    SUBCASE("through a symlink") {
        for (std::string target : {"/etc", "../../../../../../etc"}) {
            CAPTURE(target);
            Scratch s;
            std::string err = s.error(make_tar({E{.path = "sneaky", .type = AE_IFLNK, .symlink = target},
                                                E{.path = "x", .hardlink = "sneaky/passwd"}}),
                                      options());
            CHECK(contains(err, "entry \"x\": hardlink target sneaky/passwd: no such file or directory"));
            CHECK(!stdfs::exists(s / "x"));
        }
    }
    SUBCASE("a symlink target is linked, not followed") {
        Scratch s;
        s.unpack(make_tar({E{.path = "l", .type = AE_IFLNK, .symlink = "/etc/passwd"}, E{.path = "x", .hardlink = "l"}}),
                 options());
        CHECK(S_ISLNK(lstat_of(s / "x").st_mode));
    }
    struct stat after = lstat_of("/etc/passwd");
    CHECK(after.st_nlink == before.st_nlink);
    CHECK(after.st_ctim.tv_sec == before.st_ctim.tv_sec);
    CHECK(after.st_ctim.tv_nsec == before.st_ctim.tv_nsec);
}

TEST_CASE("unpack: later entries replace earlier ones") {
    Scratch s;
    s.unpack(make_tar({
                 E{.path = "f", .data = "old"},
                 E{.path = "f", .data = "new"},
                 E{.path = "d/", .type = AE_IFDIR, .perm = 0700},
                 E{.path = "d/keep", .data = "k"},
                 E{.path = "d/", .type = AE_IFDIR, .perm = 0755, .mtime = 42},  // merges
                 E{.path = "gone/", .type = AE_IFDIR},
                 E{.path = "gone/child/x", .data = "x"},
                 E{.path = "gone", .data = "now a file"},  // replaces a whole tree
                 E{.path = "s", .type = AE_IFDIR},
                 E{.path = "s", .type = AE_IFLNK, .symlink = "f"},
             }),
             options());
    CHECK(read_all(s / "f") == "new");
    CHECK(read_all(s / "d/keep") == "k");
    CHECK((lstat_of(s / "d").st_mode & 07777) == 0755);
    CHECK(lstat_of(s / "d").st_mtim.tv_sec == 42);
    CHECK(read_all(s / "gone") == "now a file");
    CHECK(S_ISLNK(lstat_of(s / "s").st_mode));
}

TEST_CASE("unpack: overlay whiteouts become 0:0 devices and the opaque xattr") {
    if (!is_root()) {
        MESSAGE("not root: overlay whiteouts not testable");
        return;
    }
    Scratch s;
    s.unpack(make_tar({E{.path = "dir/", .type = AE_IFDIR},
                       E{.path = "dir/.wh.gone"},
                       E{.path = ".wh.toplevel"},
                       E{.path = "opq/", .type = AE_IFDIR},
                       E{.path = "opq/.wh..wh..opq"},
                       E{.path = "opq/keep", .data = "k"},
                       E{.path = "implied/.wh..wh..opq"}}),
             options(true));
    for (const char* p : {"dir/gone", "toplevel"}) {
        auto st = lstat_of(s / p);
        CHECK(S_ISCHR(st.st_mode));
        CHECK(st.st_rdev == makedev(0, 0));
    }
    CHECK(!stdfs::exists(s / "dir/.wh.gone"));
    CHECK(!stdfs::exists(s / ".wh.toplevel"));
    CHECK(get_xattr(s / "opq", "trusted.overlay.opaque") == "y");
    CHECK(get_xattr(s / "implied", "trusted.overlay.opaque") == "y");
    CHECK(!stdfs::exists(s / "opq/.wh..wh..opq"));
    CHECK(read_all(s / "opq/keep") == "k");
    CHECK(get_xattr(s / "dir", "trusted.overlay.opaque") == "<none>");
}

TEST_CASE("unpack: without overlay mode whiteouts stay plain files") {
    Scratch s;
    s.unpack(make_tar({E{.path = "dir/.wh.gone"}, E{.path = "opq/.wh..wh..opq"}}), options(false));
    CHECK(S_ISREG(lstat_of(s / "dir/.wh.gone").st_mode));
    CHECK(S_ISREG(lstat_of(s / "opq/.wh..wh..opq").st_mode));
    CHECK(!stdfs::exists(s / "dir/gone"));
    CHECK(get_xattr(s / "opq", "trusted.overlay.opaque") == "<none>");
}

TEST_CASE("unpack: device nodes only when allowed") {
    std::vector<E> entries{E{.path = "dev/null", .type = AE_IFCHR, .perm = 0666, .rdev = makedev(1, 3)},
                           E{.path = "after", .data = "a"}};
    SUBCASE("skipped") {
        Scratch s;
        auto opts = options();
        opts.allow_devices = false;
        auto r = s.unpack(make_tar(entries), opts);
        CHECK(r.entries == 2);
        CHECK(!stdfs::exists(s / "dev/null"));
        CHECK(read_all(s / "after") == "a");
    }
    SUBCASE("created") {
        if (!is_root()) return;
        Scratch s;
        s.unpack(make_tar(entries), options());
        auto st = lstat_of(s / "dev/null");
        CHECK(S_ISCHR(st.st_mode));
        CHECK(st.st_rdev == makedev(1, 3));
        CHECK((st.st_mode & 07777) == 0666);
    }
}

TEST_CASE("unpack: size cap") {
    std::string tar = make_tar({E{.path = "f", .data = random_bytes(100000, 4)}});
    Scratch s;
    auto opts = options();
    opts.max_uncompressed_bytes = 50000;
    CHECK(s.error(gzip(tar), opts, Feed::Pipe) ==
          "layer sha256:test: uncompressed size exceeds the limit of 50000 bytes (max_uncompressed_bytes)");
    opts.max_uncompressed_bytes = tar.size() - 1;  // the padding counts too
    CHECK(contains(s.error(tar, opts), "exceeds the limit of " + std::to_string(tar.size() - 1) + " bytes"));
    opts.max_uncompressed_bytes = tar.size();
    Scratch t;
    CHECK(t.unpack(tar, opts).uncompressed_size == tar.size());
}

TEST_CASE("unpack: truncated and corrupt streams fail") {
    std::string tar = make_tar({E{.path = "f", .data = random_bytes(300000, 5)}, E{.path = "g", .data = "g"}});
    std::string gz = gzip(tar);
    SUBCASE("gzip cut in the middle") {
        Scratch s;
        CHECK(s.error(gz.substr(0, gz.size() / 2), options(), Feed::Pipe) == "layer sha256:test: truncated gzip stream");
    }
    SUBCASE("gzip missing its trailer (all tar bytes present)") {
        Scratch s;
        CHECK(s.error(gz.substr(0, gz.size() - 4), options()) == "layer sha256:test: truncated gzip stream");
    }
    SUBCASE("gzip with an invalid block type") {
        std::string bad = gz;
        bad[10] = static_cast<char>(bad[10] | 0x06);
        Scratch s;
        CHECK(contains(s.error(bad, options()), "layer sha256:test: invalid gzip data"));
    }
    SUBCASE("gzip with flipped bytes") {
        std::string bad = gz;
        for (size_t i = gz.size() / 3; i < gz.size() / 3 + 64; ++i) bad[i] = static_cast<char>(~bad[i]);
        Scratch s;
        CHECK(!s.error(bad, options()).empty());
    }
    SUBCASE("garbage after the gzip member") {
        Scratch s;
        CHECK(contains(s.error(gz + "garbage!", options()), "layer sha256:test: invalid gzip data"));
    }
    SUBCASE("zstd cut short") {
        std::string zs = compress(tar, ARCHIVE_FILTER_ZSTD);
        Scratch s;
        CHECK(s.error(zs.substr(0, zs.size() - 3), options()) == "layer sha256:test: truncated zstd stream");
    }
    SUBCASE("plain tar cut inside a file") {
        Scratch s;
        std::string err = s.error(tar.substr(0, 100000), options(), Feed::Pipe);
        CHECK(contains(err, "layer sha256:test: entry \"f\": "));
        CHECK(contains(err, "runcated"));
    }
    SUBCASE("not a tar at all") {
        Scratch s;
        CHECK(contains(s.error(std::string(5000, 'x'), options()), "layer sha256:test: "));
        Scratch t;
        CHECK(!t.error("", options()).empty());
    }
}

TEST_CASE("unpack: UTF-8 and long names from pax headers") {
    std::string uni = "caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac.txt";
    std::string longname = std::string(150, 'd') + "/" + std::string(200, 'f');
    // libarchive's pax writer needs a UTF-8 locale for such names; the reader runs in "C",
    // as minirun does (it never calls setlocale).
    REQUIRE(std::setlocale(LC_CTYPE, "C.UTF-8") != nullptr);
    std::string tar = make_tar({E{.path = uni, .data = "u"}, E{.path = longname, .data = "l"}});
    std::setlocale(LC_CTYPE, "C");
    Scratch s;
    s.unpack(tar, options());
    CHECK(read_all(s / uni) == "u");
    CHECK(read_all(s / longname) == "l");
}

TEST_CASE("unpack: default options follow the effective uid") {
    auto o = minirun::image::default_unpack_options("sha256:abc");
    CHECK(o.layer_name == "sha256:abc");
    CHECK(o.allow_devices == is_root());
    CHECK(o.overlay_whiteouts == is_root());
    CHECK(o.preserve_owners == is_root());
    CHECK(o.max_uncompressed_bytes == (64ull << 30));
}

TEST_CASE("unpack: in-root resolution agrees between openat2 and the manual walk") {
    using minirun::image::detail::open_dir_in_root;
    Scratch s;
    stdfs::create_directories(s / "real/sub");
    stdfs::create_directory_symlink("/", s / "abs");
    stdfs::create_directory_symlink("../../..", s / "real/up");
    stdfs::create_directory_symlink("/real/sub", s / "chain");
    stdfs::create_directory_symlink("loop", s / "loop");
    std::ofstream(s / "file") << "x";
    minirun::fs::UniqueFd root(::open(s.dest.c_str(), O_RDONLY | O_DIRECTORY));
    auto ino = [](int fd) {
        struct stat st {};
        ::fstat(fd, &st);
        ::close(fd);
        return st.st_ino;
    };
    ino_t root_ino = lstat_of(s.dest).st_ino;
    ino_t sub_ino = lstat_of(s / "real/sub").st_ino;
    for (bool openat2 : {true, false}) {
        CAPTURE(openat2);
        CHECK(ino(open_dir_in_root(root.get(), "abs", O_PATH, openat2)) == root_ino);
        CHECK(ino(open_dir_in_root(root.get(), "real/up", O_PATH, openat2)) == root_ino);
        CHECK(ino(open_dir_in_root(root.get(), "abs/real/up/chain", O_PATH, openat2)) == sub_ino);
        CHECK(ino(open_dir_in_root(root.get(), "chain/../../..", O_PATH, openat2)) == root_ino);
        CHECK(ino(open_dir_in_root(root.get(), "", O_RDONLY, openat2)) == root_ino);
        CHECK(open_dir_in_root(root.get(), "loop", O_PATH, openat2) == -ELOOP);
        CHECK(open_dir_in_root(root.get(), "file", O_PATH, openat2) == -ENOTDIR);
        CHECK(open_dir_in_root(root.get(), "missing/x", O_PATH, openat2) == -ENOENT);
    }
}
