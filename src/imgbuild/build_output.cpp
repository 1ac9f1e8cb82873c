// oci:DIR and oci-archive:FILE outputs.
#include "build_output.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/image/image_source.hpp"
#include "minirun/image/reference.hpp"
#include "minirun/image/store.hpp"

namespace minirun::imgbuild::detail {

namespace stdfs = std::filesystem;

namespace {

struct OutputSpec {
    std::string type, dest, ref_name;  // ref_name empty: from the first -t, else "latest"
};

// oci:DIR[:TAG] / oci-archive:FILE[:TAG], as skopeo and buildah spell the transports.
OutputSpec split_spec(const std::string& spec) {
    auto bad = [&] { return Error("invalid --output \"" + spec + "\": use oci:DIR[:TAG] or oci-archive:FILE[:TAG]"); };
    for (const char* type : {"oci", "oci-archive"}) {
        try {
            if (auto parsed = image::parse_oci_transport(spec, type)) return {type, parsed->first, parsed->second};
        } catch (const Error&) {
            throw bad();
        }
    }
    throw bad();
}

void write_layout(const image::Store& store, const image::Descriptor& manifest, const std::string& ref_name,
                  const stdfs::path& dir) {
    auto source = image::store_source(store, manifest);
    auto sink = image::layout_sink(dir, ref_name);
    image::copy_image(*source, *sink);
}

void tar_directory(const stdfs::path& dir, const stdfs::path& file) {
    fs::TempFile tmp(file.parent_path().empty() ? "." : file.parent_path());
    struct archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_add_filter_none(a);
    if (archive_write_open_fd(a, tmp.fd()) != ARCHIVE_OK) {
        std::string e = archive_error_string(a);
        archive_write_free(a);
        throw Error("write " + file.string() + ": " + e);
    }
    std::vector<stdfs::path> paths;
    for (auto& e : stdfs::recursive_directory_iterator(dir)) paths.push_back(e.path());
    std::sort(paths.begin(), paths.end());
    std::string error;
    for (auto& p : paths) {
        struct stat st {};
        if (::lstat(p.c_str(), &st) != 0) continue;
        archive_entry* e = archive_entry_new();
        archive_entry_set_pathname(e, stdfs::relative(p, dir).c_str());
        archive_entry_set_mode(e, st.st_mode);
        archive_entry_set_mtime(e, 0, 0);
        if (S_ISREG(st.st_mode)) archive_entry_set_size(e, st.st_size);
        if (archive_write_header(a, e) != ARCHIVE_OK) error = archive_error_string(a);
        archive_entry_free(e);
        if (!error.empty()) break;
        if (S_ISREG(st.st_mode)) {
            fs::UniqueFd in(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
            char buf[1 << 16];
            for (ssize_t n; in && (n = ::read(in.get(), buf, sizeof buf)) > 0;)
                if (archive_write_data(a, buf, static_cast<size_t>(n)) < 0) error = archive_error_string(a);
        }
    }
    if (archive_write_close(a) != ARCHIVE_OK && error.empty()) error = archive_error_string(a);
    archive_write_free(a);
    if (!error.empty()) throw Error("write " + file.string() + ": " + error);
    tmp.commit(file);
}

}  // namespace

void check_output(const std::string& spec) {
    split_spec(spec);
}

void write_output(const image::Store& store, const image::Descriptor& manifest, const std::vector<std::string>& tags,
                  const std::string& spec) {
    auto [type, dest, ref_name] = split_spec(spec);
    if (ref_name.empty()) {
        ref_name = "latest";
        if (!tags.empty()) {
            auto r = image::Reference::parse(tags[0]);
            if (!r.tag.empty()) ref_name = r.tag;
        }
    }
    if (type == "oci") return write_layout(store, manifest, ref_name, dest);
    stdfs::path tmp = store.temp_dir() / (std::string(fs::kTempPrefix) + fs::unique_suffix() + "-archive");
    try {
        write_layout(store, manifest, ref_name, tmp);
        tar_directory(tmp, dest);
    } catch (...) {
        image::remove_tree(tmp);
        throw;
    }
    image::remove_tree(tmp);
}

}  // namespace minirun::imgbuild::detail
