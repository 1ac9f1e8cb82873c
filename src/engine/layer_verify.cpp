// An unpacked layer checked against its diff id: the layer's blob is extracted again
// (which re-hashes the uncompressed stream, i.e. the diff id) and the two trees compared.
#include "minirun/engine/layer_verify.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/image/store.hpp"
#include "minirun/image/unpack.hpp"

namespace minirun::engine {

namespace stdfs = std::filesystem;

namespace {

std::vector<std::string> names_in(const stdfs::path& dir) {
    std::vector<std::string> out;
    std::error_code ec;
    for (auto& e : stdfs::directory_iterator(dir, ec)) out.push_back(e.path().filename());
    std::sort(out.begin(), out.end());
    return out;
}

// Reads until `n` bytes or the end; -1 on error.
ssize_t read_up_to(int fd, char* buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = ::read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0) break;
        got += static_cast<size_t>(r);
    }
    return static_cast<ssize_t>(got);
}

bool same_bytes(const stdfs::path& a, const stdfs::path& b) {
    fs::UniqueFd fa(::open(a.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC)), fb(::open(b.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fa || !fb) return false;
    std::vector<char> ba(1 << 16), bb(1 << 16);
    for (;;) {
        ssize_t na = read_up_to(fa.get(), ba.data(), ba.size()), nb = read_up_to(fb.get(), bb.data(), bb.size());
        if (na != nb || std::memcmp(ba.data(), bb.data(), static_cast<size_t>(std::max<ssize_t>(na, 0))) != 0) return false;
        if (na <= 0) return na == 0;
    }
}

std::string opaque_mark(const stdfs::path& p) {
    char v[8] = {};
    ssize_t n = ::lgetxattr(p.c_str(), "trusted.overlay.opaque", v, sizeof v - 1);
    return n > 0 ? std::string(v, static_cast<size_t>(n)) : "";
}

// The first difference between `got` (the store's) and `want` (fresh from the blob), or "".
std::string compare_trees(const stdfs::path& got, const stdfs::path& want, const std::string& rel) {
    auto g = names_in(got), w = names_in(want);
    for (auto& n : w)
        if (!std::binary_search(g.begin(), g.end(), n)) return "/" + rel + n + " is missing";
    for (auto& n : g)
        if (!std::binary_search(w.begin(), w.end(), n)) return "/" + rel + n + " is not in the layer";
    for (auto& n : w) {
        stdfs::path pg = got / n, pw = want / n;
        std::string where = "/" + rel + n;
        struct stat sg {}, sw {};
        if (::lstat(pg.c_str(), &sg) != 0 || ::lstat(pw.c_str(), &sw) != 0) return where + " cannot be read";
        if ((sg.st_mode & S_IFMT) != (sw.st_mode & S_IFMT)) return where + " changed type";
        if (sg.st_mode != sw.st_mode) return where + " changed mode";
        if (sg.st_uid != sw.st_uid || sg.st_gid != sw.st_gid) return where + " changed owner";
        if (S_ISREG(sw.st_mode) && (sg.st_size != sw.st_size || !same_bytes(pg, pw))) return where + " changed content";
        if (S_ISLNK(sw.st_mode) && stdfs::read_symlink(pg) != stdfs::read_symlink(pw)) return where + " points elsewhere";
        if ((S_ISCHR(sw.st_mode) || S_ISBLK(sw.st_mode)) && sg.st_rdev != sw.st_rdev) return where + " changed device";
        if (S_ISDIR(sw.st_mode)) {
            if (opaque_mark(pg) != opaque_mark(pw)) return where + " changed its opaque mark";
            std::string d = compare_trees(pg, pw, rel + n + "/");
            if (!d.empty()) return d;
        }
    }
    return "";
}

}  // namespace

LayerCheck verify_layer(const image::Store& store, const std::string& diff_id, const std::string& blob_digest,
                        bool replace_if_damaged) {
    LayerCheck out;
    stdfs::path fresh = store.temp_dir() / (std::string(fs::kTempPrefix) + fs::unique_suffix() + "-verify");
    fs::mkdir_p(fresh);
    try {
        fs::UniqueFd blob(::open(store.blob_path(blob_digest).c_str(), O_RDONLY | O_CLOEXEC));
        if (!blob) throw_errno("open blob " + blob_digest);
        auto r = image::unpack_layer(blob.get(), fresh, image::default_unpack_options(blob_digest));
        if (r.diff_id != diff_id) {
            out.problem = "its blob " + blob_digest + " unpacks to " + r.diff_id + ", not " + diff_id;
        } else {
            out.problem = compare_trees(store.layer_dir(diff_id), fresh, "");
            if (!out.problem.empty() && replace_if_damaged) {
                // Swap the fresh tree in, then drop the damaged one.
                stdfs::path old = store.temp_dir() / (std::string(fs::kTempPrefix) + fs::unique_suffix() + "-damaged");
                if (::rename(store.layer_dir(diff_id).c_str(), old.c_str()) != 0) throw_errno("move the damaged layer aside");
                if (::rename(fresh.c_str(), store.layer_dir(diff_id).c_str()) != 0) throw_errno("put the layer back");
                image::remove_tree(old);
                out.replaced = true;
            }
        }
    } catch (const Error& e) {
        out.problem = std::string("cannot be checked: ") + e.what();
    }
    if (!out.replaced) image::remove_tree(fresh);
    return out;
}

}  // namespace minirun::engine
