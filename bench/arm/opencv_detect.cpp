// The OpenCV side of bench/arm_vs_reference.sh: CascadeClassifier::detectMultiScale on gray
// images, REPEATS passes over all of them in one process, single-threaded. Built for arm64 with
// aarch64-linux-gnu-g++ against Debian 12's OpenCV (core, imgproc, objdetect only) and counted
// under qemu-aarch64: a run of 1 pass and one of 3 differ by exactly two passes of detection,
// so loading the cascade and reading the images cancel out.
//
// The images are binary PGMs (P5, 8-bit) that the script wrote from the same gray pixels our
// side reads: parsing them here keeps imgcodecs (and its JPEG/PNG decoders) out of the build,
// and neither side's count includes any decoding.
//
//   opencv_detect CASCADE SCALE_FACTOR MIN_NEIGHBORS MIN_SIZE REPEATS IMAGE.pgm...
//
// MIN_SIZE 0 means the cascade's own window (as detect_vs_opencv.py passes (0, 0)). Prints, once
// per image after the last pass, `IMAGE x,y,w,h ...` with the boxes sorted, so the script can
// check that both detectors found the same boxes; printing once keeps it out of the difference.
#include <opencv2/core.hpp>
#include <opencv2/core/ocl.hpp>
#include <opencv2/objdetect.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

// Reads the next header token of a PGM, skipping whitespace and `#` comments.
static bool pgm_token(std::istream &in, std::string &token) {
  token.clear();
  int c;
  while ((c = in.get()) != EOF) {
    if (c == '#') {
      while ((c = in.get()) != EOF && c != '\n') {
      }
    } else if (!std::isspace(c)) {
      token.push_back(static_cast<char>(c));
      break;
    }
  }
  while ((c = in.peek()) != EOF && !std::isspace(c)) token.push_back(static_cast<char>(in.get()));
  return !token.empty();
}

static cv::Mat read_pgm(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::string magic, w, h, maxval;
  if (!in || !pgm_token(in, magic) || magic != "P5" || !pgm_token(in, w) || !pgm_token(in, h) ||
      !pgm_token(in, maxval) || maxval != "255") {
    std::cerr << path << ": not an 8-bit binary PGM\n";
    std::exit(2);
  }
  in.get();  // the single whitespace byte that ends the header
  cv::Mat gray(std::stoi(h), std::stoi(w), CV_8UC1);
  if (!in.read(reinterpret_cast<char *>(gray.data), static_cast<std::streamsize>(gray.total()))) {
    std::cerr << path << ": truncated\n";
    std::exit(2);
  }
  return gray;
}

int main(int argc, char **argv) {
  if (argc < 7) {
    std::cerr << "usage: opencv_detect CASCADE SCALE_FACTOR MIN_NEIGHBORS MIN_SIZE REPEATS IMAGE.pgm...\n";
    return 2;
  }
  // Sequential, as the Python bench's cv2.setNumThreads(1): Debian builds OpenCV with TBB, and
  // with more threads the count would include TBB's scheduling. No OpenCL device either way
  // (qemu-user has none), but switching it off skips the probe for one.
  cv::setNumThreads(1);
  cv::ocl::setUseOpenCL(false);
  cv::CascadeClassifier classifier;
  if (!classifier.load(argv[1])) {
    std::cerr << argv[1] << ": cannot load cascade\n";
    return 2;
  }
  const double scale = std::atof(argv[2]);
  const int neighbors = std::atoi(argv[3]);
  const int min_size = std::atoi(argv[4]);
  const int repeats = std::atoi(argv[5]);
  std::vector<std::string> paths(argv + 6, argv + argc);
  std::vector<cv::Mat> grays;
  for (const auto &p : paths) grays.push_back(read_pgm(p));

  std::vector<std::vector<cv::Rect>> found(grays.size());
  for (int r = 0; r < repeats; r++) {
    for (size_t i = 0; i < grays.size(); i++) {
      classifier.detectMultiScale(grays[i], found[i], scale, neighbors, 0, cv::Size(min_size, min_size));
    }
  }
  for (size_t i = 0; i < grays.size(); i++) {
    auto &boxes = found[i];
    std::sort(boxes.begin(), boxes.end(), [](const cv::Rect &a, const cv::Rect &b) {
      return std::tie(a.x, a.y, a.width, a.height) < std::tie(b.x, b.y, b.width, b.height);
    });
    std::cout << paths[i];
    for (const auto &b : boxes) std::cout << ' ' << b.x << ',' << b.y << ',' << b.width << ',' << b.height;
    std::cout << '\n';
  }
  return 0;
}
