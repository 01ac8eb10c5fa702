/*
 * A Kafka-protocol broker for tests: librdkafka's mock cluster (rdkafka_mock.h, Debian's librdkafka-dev),
 * driven from the command line and stdin so a test can create topics and simulate outages.
 *
 *   mock-broker [--brokers N] [--partitions P] TOPIC[:PARTITIONS] ...
 *
 * Creates the topics (PARTITIONS, else P, default 3), prints one line `bootstrap HOST:PORT[,HOST:PORT…]`
 * and then answers one line per stdin command:
 *
 *   down [ID|all]          broker ID (default all) closes its connections and refuses new ones
 *   up [ID|all]            broker ID (default all) accepts connections again
 *   topic NAME PARTITIONS  creates a topic
 *   quit                   exits (so does end of stdin: the broker never outlives the test that started it)
 *
 * Answers are `ok …` or `error …`. Topics are created here, not through kafkajs' admin client, because the
 * mock reports controller id 0 while its brokers are numbered from 1, so CreateTopics from kafkajs fails.
 *
 * Build: gcc -O2 -Wall -o mock-broker mock-broker.c -lrdkafka   (test/helpers/kafka.ts does it, cached)
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int broker_count = 1;

static int create_topic(rd_kafka_mock_cluster_t *mcluster, const char *name, int partitions) {
  rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mcluster, name, partitions, 1);
  if (err) {
    printf("error topic %s: %s\n", name, rd_kafka_err2str(err));
    return -1;
  }
  return 0;
}

/* Applies down/up to one broker id, or to every broker when `which` is NULL or "all". */
static int set_brokers(rd_kafka_mock_cluster_t *mcluster, const char *which, int up) {
  int first = 1, last = broker_count;
  if (which && strcmp(which, "all") != 0) {
    char *end = NULL;
    long id = strtol(which, &end, 10);
    if (!end || *end || id < 1 || id > broker_count) {
      printf("error no broker %s (brokers are 1..%d)\n", which, broker_count);
      return -1;
    }
    first = last = (int)id;
  }
  for (int id = first; id <= last; id++) {
    rd_kafka_resp_err_t err =
        up ? rd_kafka_mock_broker_set_up(mcluster, id) : rd_kafka_mock_broker_set_down(mcluster, id);
    if (err) {
      printf("error broker %d: %s\n", id, rd_kafka_err2str(err));
      return -1;
    }
  }
  return 0;
}

int main(int argc, char **argv) {
  int default_partitions = 3;
  int first_topic = 1;
  for (; first_topic < argc; first_topic++) {
    if (strcmp(argv[first_topic], "--brokers") == 0 && first_topic + 1 < argc) {
      broker_count = atoi(argv[++first_topic]);
    } else if (strcmp(argv[first_topic], "--partitions") == 0 && first_topic + 1 < argc) {
      default_partitions = atoi(argv[++first_topic]);
    } else {
      break;
    }
  }
  if (broker_count < 1 || default_partitions < 1) {
    fprintf(stderr, "usage: %s [--brokers N] [--partitions P] TOPIC[:PARTITIONS] ...\n", argv[0]);
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);

  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  /* The handle only hosts the mock cluster; keep librdkafka's own log to errors. */
  rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (!rk) {
    fprintf(stderr, "rd_kafka_new: %s\n", errstr);
    return 1;
  }
  rd_kafka_mock_cluster_t *mcluster = rd_kafka_mock_cluster_new(rk, broker_count);
  if (!mcluster) {
    fprintf(stderr, "rd_kafka_mock_cluster_new failed\n");
    rd_kafka_destroy(rk);
    return 1;
  }

  for (int i = first_topic; i < argc; i++) {
    char name[512];
    int partitions = default_partitions;
    snprintf(name, sizeof(name), "%s", argv[i]);
    char *colon = strrchr(name, ':');
    if (colon) {
      *colon = '\0';
      partitions = atoi(colon + 1);
    }
    if (partitions < 1 || create_topic(mcluster, name, partitions) != 0) {
      fprintf(stderr, "cannot create topic %s\n", argv[i]);
      rd_kafka_mock_cluster_destroy(mcluster);
      rd_kafka_destroy(rk);
      return 1;
    }
  }
  printf("bootstrap %s\n", rd_kafka_mock_cluster_bootstraps(mcluster));

  char line[1024];
  while (fgets(line, sizeof(line), stdin)) {
    char *save = NULL;
    char *command = strtok_r(line, " \t\r\n", &save);
    char *arg1 = strtok_r(NULL, " \t\r\n", &save);
    char *arg2 = strtok_r(NULL, " \t\r\n", &save);
    if (!command) continue;
    if (strcmp(command, "quit") == 0) {
      printf("ok quit\n");
      break;
    } else if (strcmp(command, "down") == 0 || strcmp(command, "up") == 0) {
      int up = command[0] == 'u';
      if (set_brokers(mcluster, arg1, up) == 0) printf("ok %s %s\n", command, arg1 ? arg1 : "all");
    } else if (strcmp(command, "topic") == 0 && arg1 && arg2) {
      int partitions = atoi(arg2);
      if (partitions < 1) {
        printf("error partitions must be >= 1\n");
      } else if (create_topic(mcluster, arg1, partitions) == 0) {
        printf("ok topic %s %d\n", arg1, partitions);
      }
    } else {
      printf("error unknown command %s\n", command);
    }
  }

  rd_kafka_mock_cluster_destroy(mcluster);
  rd_kafka_destroy(rk);
  return 0;
}
