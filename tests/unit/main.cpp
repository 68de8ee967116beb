// the one Boost.Test module; each test_<module>.cpp adds a suite
#define BOOST_TEST_MODULE dovewarden
#include <boost/test/unit_test.hpp>
