-- The embedded bus: a durable, partitioned log in the gateway's own database with Kafka's semantics
-- (per-partition offsets, consumer groups with committed offsets, partitions split between a group's live
-- instances by leases), so a gateway with no Kafka loses nothing on restart either. Also an index the outbox
-- relay uses to keep one case's events in order.

CREATE TABLE bus_topics (
  topic      text        PRIMARY KEY,
  partitions integer     NOT NULL CHECK (partitions > 0),
  created_at timestamptz NOT NULL DEFAULT now()
);

-- One row per partition: the next offset to hand out. An append locks this row, so a partition's offsets are
-- gap-free and become visible in offset order (a reader never sees offset n+1 before offset n).
CREATE TABLE bus_partitions (
  topic       text    NOT NULL REFERENCES bus_topics (topic),
  partition   integer NOT NULL CHECK (partition >= 0),
  next_offset bigint  NOT NULL DEFAULT 0,
  PRIMARY KEY (topic, partition)
);

CREATE TABLE bus_log (
  topic       text        NOT NULL,
  partition   integer     NOT NULL,
  "offset"    bigint      NOT NULL,
  message_key text,
  headers     jsonb       NOT NULL DEFAULT '{}'::jsonb,
  value       bytea       NOT NULL,
  appended_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (topic, partition, "offset")
);

-- Per consumer group and partition: the next offset the group will read (Kafka's committed-offset meaning).
CREATE TABLE bus_group_offsets (
  group_id         text        NOT NULL,
  topic            text        NOT NULL,
  partition        integer     NOT NULL,
  committed_offset bigint      NOT NULL,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (group_id, topic, partition)
);

-- Live instances of each group: each heartbeat pushes expires_at forward; an expired member is gone.
CREATE TABLE bus_group_members (
  group_id   text        NOT NULL,
  member_id  text        NOT NULL,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (group_id, member_id)
);

-- Which member reads which partition. A lease that is not renewed expires and another member claims it.
CREATE TABLE bus_leases (
  group_id   text        NOT NULL,
  topic      text        NOT NULL,
  partition  integer     NOT NULL,
  owner      text        NOT NULL,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (group_id, topic, partition)
);

-- The outbox relay looks up the unpublished events of the cases (else keys) it is about to publish.
CREATE INDEX outbox_unpublished_by_case ON outbox (case_id, id) WHERE published_at IS NULL;
CREATE INDEX outbox_unpublished_by_key ON outbox (message_key, id) WHERE published_at IS NULL AND case_id IS NULL;
