/* Unit tests for core/errors.c: the dead-letter-queue produce loop gives up when its task
 * is interrupted instead of waiting forever on a full producer queue. */
#include "errors.h"
#include "lc_test.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

static atomic_int abort_flag;

static void *interrupt_later(void *arg)
{
    struct timespec ts = {0, 300 * 1000000L};
    nanosleep(&ts, NULL);
    atomic_store(&abort_flag, 1);
    return NULL;
}

TEST(dlq_produce_on_a_full_queue_stops_when_the_task_is_interrupted)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* No broker answers here and the queue holds one record: the second one waits. */
    rd_kafka_conf_set(conf, "bootstrap.servers", "127.0.0.1:1", err, sizeof(err));
    rd_kafka_conf_set(conf, "queue.buffering.max.messages", "1", err, sizeof(err));
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    CHECK(rk != NULL);
    lc_errors_t e = {.tolerant = 1, .dlq_topic = "dlq"};
    lc_failure_t f = {.stage = "VALUE_CONVERTER",
                      .class_name = "x",
                      .exception_class = "y",
                      .message = "bad",
                      .topic = "t",
                      .partition = 0,
                      .offset = 1,
                      .value = "v",
                      .value_len = 1};
    CHECK_INT(lc_errors_report(&e, "c", 0, "c|task-0", rk, &f, NULL, &abort_flag, err, sizeof(err)),
              1);
    pthread_t th;
    pthread_create(&th, NULL, interrupt_later, NULL);
    int rc = lc_errors_report(&e, "c", 0, "c|task-0", rk, &f, NULL, &abort_flag, err, sizeof(err));
    pthread_join(th, NULL);
    CHECK_INT(rc, -1);
    CHECK_STR(err, "cannot produce to the dead letter queue 'dlq': Local: Queue full");
    rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE);
    rd_kafka_destroy(rk);
}

int main(void)
{
    RUN(dlq_produce_on_a_full_queue_stops_when_the_task_is_interrupted);
    return lc_test_summary("test_errors");
}
