// Uses medseg from an installed package: C++ owners over the C API.
#include <medseg.hpp>

#include <cstdint>
#include <cstdio>
#include <vector>

int main() {
    try {
        medseg::check_abi();
        std::vector<std::uint8_t> voxels(4 * 4 * 2, 0);
        voxels[5] = 1;
        medseg_geometry g{};
        g.size[0] = 4;
        g.size[1] = 4;
        g.size[2] = 2;
        g.spacing[0] = g.spacing[1] = g.spacing[2] = 1.0;
        g.direction[0] = g.direction[4] = g.direction[8] = 1.0;
        medseg::Image img = medseg::Image::from_buffer(voxels.data(), voxels.size(), g);
        std::size_t n = 0;
        const std::uint8_t *d = img.data<std::uint8_t>(&n);
        if (n != voxels.size() || d[5] != 1) {
            std::printf("unexpected image content\n");
            return 1;
        }
        std::printf("medseg %s: %zu voxels\n", medseg::version().c_str(), n);
        return 0;
    } catch (const medseg::Error &e) {
        std::printf("medseg error: %s\n", e.what());
        return 1;
    }
}
