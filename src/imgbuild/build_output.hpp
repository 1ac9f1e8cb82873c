#pragma once
// Extra build outputs besides the store: oci:DIR (an OCI image layout) and
// oci-archive:FILE (the same layout as a tar file).
#include <string>
#include <vector>

#include "minirun/image/manifest.hpp"

namespace minirun::image {
class Store;
}

namespace minirun::imgbuild::detail {

// Throws Error on an output spec we do not know.
void check_output(const std::string& spec);
void write_output(const image::Store& store, const image::Descriptor& manifest, const std::vector<std::string>& tags,
                  const std::string& spec);

}  // namespace minirun::imgbuild::detail
