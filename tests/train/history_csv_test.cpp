#include "fmnist/train/history_csv.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "fmnist/base/error.hpp"
#include "test_util.hpp"

namespace fmnist {
namespace {

using testing::TempDir;

EpochRecord record(std::int64_t epoch) {
  return {epoch, 0.5 / epoch, 0.8, 0.4, 0.85, 1e-3 / 3, 9.25, 6350.5};
}

TEST(HistoryCsvTest, RoundTripsEveryField) {
  TempDir dir;
  std::vector<EpochRecord> history = {record(1), record(2)};
  history[1].val_loss = std::numeric_limits<double>::quiet_NaN();
  write_history_csv(history, dir / "h.csv");
  std::vector<EpochRecord> read = read_history_csv(dir / "h.csv");
  ASSERT_EQ(read.size(), 2u);
  EXPECT_EQ(read[1].epoch, 2);
  EXPECT_DOUBLE_EQ(read[1].train_loss, 0.25);
  EXPECT_DOUBLE_EQ(read[0].learning_rate, 1e-3 / 3);  // no digits lost
  EXPECT_DOUBLE_EQ(read[0].images_per_second, 6350.5);
  EXPECT_TRUE(std::isnan(read[1].val_loss));
}

TEST(HistoryCsvTest, HasAHeaderAndOneLinePerEpoch) {
  TempDir dir;
  write_history_csv({record(1)}, dir / "h.csv");
  EXPECT_EQ(testing::read_bytes(dir / "h.csv"),
            "epoch,train_loss,train_accuracy,val_loss,val_accuracy,learning_rate,seconds,"
            "images_per_second\n1,0.5,0.8,0.4,0.85,0.0003333333333333333,9.25,6350.5\n");
}

// Each epoch rewrites the history through a new file renamed into place: a hard link to the
// previous history keeps it whole (a writer that truncated the file in place would change it).
TEST(HistoryCsvTest, RewriteReplacesTheFileInsteadOfWritingIntoIt) {
  TempDir dir;
  write_history_csv({record(1)}, dir / "h.csv");
  std::string before = testing::read_bytes(dir / "h.csv");
  std::filesystem::create_hard_link(dir / "h.csv", dir / "previous.csv");
  write_history_csv({record(1), record(2)}, dir / "h.csv");
  EXPECT_EQ(testing::read_bytes(dir / "previous.csv"), before);
  EXPECT_EQ(read_history_csv(dir / "h.csv").size(), 2u);
}

TEST(HistoryCsvTest, RejectsWhatItDidNotWrite) {
  TempDir dir;
  testing::write_bytes(dir / "other.csv", "a,b\n1,2\n");
  EXPECT_THROW(read_history_csv(dir / "other.csv"), DataError);
  write_history_csv({record(1)}, dir / "h.csv");
  testing::write_bytes(dir / "short.csv", testing::read_bytes(dir / "h.csv") + "2,0.1\n");
  try {
    read_history_csv(dir / "short.csv");
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("short.csv line 3"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace fmnist
