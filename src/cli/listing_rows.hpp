#pragma once
// What each listing command offers to --format: Docker's field names and default tables
// (cli/command/formatter), built from minirun's records. Presentation only: the records
// come from the engine, the template engine from the format module.
#include <nlohmann/json.hpp>

#include "minirun/engine/disk_usage.hpp"
#include "minirun/engine/engine.hpp"
#include "minirun/engine/volumes.hpp"
#include "minirun/format/table_format.hpp"
#include "minirun/image/stored_image.hpp"
#include "minirun/network/networks.hpp"

namespace minirun::cli {

// Docker's sizes: decimal units, three significant digits ("4.26MB"), and binary ones
// with four ("1.195MiB") where Docker's stats uses them.
std::string docker_size(double bytes);
std::string docker_binary_size(double bytes);

format::Listing container_listing();
nlohmann::json container_row(const engine::PsRow& row, bool truncate);

format::Listing image_listing(bool digests);
nlohmann::json image_row(const image::ImageSummary& img, bool truncate);

format::Listing network_listing();
nlohmann::json network_row(const network::NetworkInfo& n, bool truncate);

format::Listing volume_listing();
nlohmann::json volume_row(const engine::VolumeInfo& v);

// `history`: one row per history entry, newest first; the image id on the top one,
// "<missing>" below (Docker's way); sizes are the layers as stored (compressed).
format::Listing history_listing();
std::vector<nlohmann::json> history_rows(const image::StoredImage& img, bool truncate);

format::Listing disk_usage_listing();
nlohmann::json disk_usage_row(const engine::DiskUsageRow& r);
// `system df -v`: {"Images": […], "Containers": […], "Volumes": […], "BuildCache": […]}, the
// rows of `images`, `ps` and `volume ls` with their sizes filled in, and the cache's steps.
nlohmann::json disk_usage_detail_rows(const engine::DiskUsageDetail& d, const std::vector<image::ImageSummary>& images,
                                      const std::vector<engine::PsRow>& containers,
                                      const std::vector<engine::VolumeInfo>& volumes);
// The table of one of those sections ("Images", "Containers", "Volumes", "BuildCache").
format::Listing disk_usage_section(const std::string& section);

format::Listing stats_listing();
nlohmann::json stats_row(const engine::ContainerStats& s);

}  // namespace minirun::cli
