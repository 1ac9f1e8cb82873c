// oci:DIR and oci-archive:FILE outputs.
#include "build_output.hpp"

#include <filesystem>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/image/image_source.hpp"
#include "minirun/image/reference.hpp"
#include "minirun/image/store.hpp"
#include "minirun/image/tar_writer.hpp"

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
    image::TarWriter tar(tmp.fd(), file.string());
    tar.add_tree(dir);
    tar.finish();
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
