// CRdKafka: the one place Sluice names C. Everything above SluiceKafka sees Swift types only.
//
// librdkafka's cast macros (`((int32_t)-1)`) do not import into Swift, so the few constants
// Sluice needs are re-exposed here as typed inline functions.
#ifndef SLUICE_CRDKAFKA_SHIM_H
#define SLUICE_CRDKAFKA_SHIM_H

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static inline int32_t sluice_rd_kafka_partition_ua(void) { return RD_KAFKA_PARTITION_UA; }
static inline int64_t sluice_rd_kafka_offset_beginning(void) { return RD_KAFKA_OFFSET_BEGINNING; }
static inline int64_t sluice_rd_kafka_offset_end(void) { return RD_KAFKA_OFFSET_END; }
static inline int64_t sluice_rd_kafka_offset_stored(void) { return RD_KAFKA_OFFSET_STORED; }
static inline int64_t sluice_rd_kafka_offset_invalid(void) { return RD_KAFKA_OFFSET_INVALID; }
static inline int sluice_rd_kafka_destroy_f_no_consumer_close(void) { return RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE; }

/// Produces one message through `rd_kafka_produceva` (Swift cannot build the `rd_kafka_vu_t` union
/// array conveniently, and `rd_kafka_producev` is variadic). Key, value and headers are copied
/// (`RD_KAFKA_MSG_F_COPY`), so the caller's buffers need only live for the call. On success
/// librdkafka owns the headers list; on failure it is destroyed here. `opaque` comes back as the
/// delivery report's `_private`. With `block`, a full local queue makes the call wait
/// (`RD_KAFKA_MSG_F_BLOCK`) instead of failing with `_QUEUE_FULL`.
static inline rd_kafka_resp_err_t sluice_rd_kafka_produce(
    rd_kafka_t *rk, const char *topic, int32_t partition,
    const void *key, size_t key_len, int has_key,
    const void *value, size_t value_len, int has_value,
    const char *const *header_names, const void *const *header_values,
    const ssize_t *header_sizes, size_t header_count,
    int64_t timestamp_ms, int block, void *opaque) {
    rd_kafka_vu_t vus[8];
    size_t n = 0;
    rd_kafka_headers_t *headers = NULL;
    vus[n].vtype = RD_KAFKA_VTYPE_TOPIC; vus[n].u.cstr = topic; n++;
    vus[n].vtype = RD_KAFKA_VTYPE_PARTITION; vus[n].u.i32 = partition; n++;
    vus[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS; vus[n].u.i = RD_KAFKA_MSG_F_COPY | (block ? RD_KAFKA_MSG_F_BLOCK : 0); n++;
    vus[n].vtype = RD_KAFKA_VTYPE_VALUE;
    vus[n].u.mem.ptr = has_value ? (void *)value : NULL;
    vus[n].u.mem.size = has_value ? value_len : 0;
    n++;
    if (has_key) {
        vus[n].vtype = RD_KAFKA_VTYPE_KEY; vus[n].u.mem.ptr = (void *)key; vus[n].u.mem.size = key_len; n++;
    }
    if (timestamp_ms > 0) {
        vus[n].vtype = RD_KAFKA_VTYPE_TIMESTAMP; vus[n].u.i64 = timestamp_ms; n++;
    }
    vus[n].vtype = RD_KAFKA_VTYPE_OPAQUE; vus[n].u.ptr = opaque; n++;
    if (header_count > 0) {
        headers = rd_kafka_headers_new(header_count);
        for (size_t i = 0; i < header_count; i++) {
            rd_kafka_header_add(headers, header_names[i], -1, header_values[i], header_sizes[i]);
        }
        vus[n].vtype = RD_KAFKA_VTYPE_HEADERS; vus[n].u.headers = headers; n++;
    }
    rd_kafka_error_t *error = rd_kafka_produceva(rk, vus, n);
    if (error != NULL) {
        rd_kafka_resp_err_t code = rd_kafka_error_code(error);
        rd_kafka_error_destroy(error);
        if (headers != NULL) rd_kafka_headers_destroy(headers);  // not consumed on failure
        return code;
    }
    return RD_KAFKA_RESP_ERR_NO_ERROR;
}

#endif
