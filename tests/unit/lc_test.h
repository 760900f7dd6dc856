/* lc_test: the smallest unit-test harness that does the job.
 * Each test file defines tests with TEST(name) and lists them in main() via RUN(name);
 * main returns lc_test_summary(), which prints "N passed, N failed" and the exit status. */
#ifndef LC_TEST_H
#define LC_TEST_H

#include <stdio.h>
#include <string.h>

static int lc_test_failed_checks;
static int lc_test_passed, lc_test_failed;

#define TEST(name) static void name(void)

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);           \
            lc_test_failed_checks++;                                                           \
        }                                                                                      \
    } while (0)

#define CHECK_STR(got, want)                                                                   \
    do {                                                                                       \
        const char *g_ = (got), *w_ = (want);                                                  \
        if (!g_ || !w_ || strcmp(g_, w_) != 0) {                                               \
            fprintf(stderr, "%s:%d: %s\n  got:  %s\n  want: %s\n", __FILE__, __LINE__, #got,  \
                    g_ ? g_ : "(null)", w_ ? w_ : "(null)");                                  \
            lc_test_failed_checks++;                                                           \
        }                                                                                      \
    } while (0)

#define CHECK_INT(got, want)                                                                   \
    do {                                                                                       \
        long long g_ = (long long)(got), w_ = (long long)(want);                               \
        if (g_ != w_) {                                                                        \
            fprintf(stderr, "%s:%d: %s = %lld, want %lld\n", __FILE__, __LINE__, #got, g_,     \
                    w_);                                                                       \
            lc_test_failed_checks++;                                                           \
        }                                                                                      \
    } while (0)

#define RUN(name)                                                                              \
    do {                                                                                       \
        int before_ = lc_test_failed_checks;                                                   \
        name();                                                                                \
        if (lc_test_failed_checks == before_) {                                                \
            lc_test_passed++;                                                                  \
        } else {                                                                               \
            lc_test_failed++;                                                                  \
            fprintf(stderr, "FAIL %s\n", #name);                                               \
        }                                                                                      \
    } while (0)

static inline int lc_test_summary(const char *file)
{
    printf("%s: %d passed, %d failed\n", file, lc_test_passed, lc_test_failed);
    return lc_test_failed ? 1 : 0;
}

#endif
