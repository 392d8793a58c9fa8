/*
 * Clean items for the tests of the operators that take them (pp_post,
 * pp_stream, pp_checkpoint): what the clean stage hands the loop thread,
 * built by hand. Text is borrowed from string literals.
 */
#ifndef PP_CHECK_ITEMS_H
#define PP_CHECK_ITEMS_H

#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "pp_clean.h"
#include "pp_post.h"
#include "pp_time.h"

static inline struct pp_str text(const char *s)
{
    return s ? pp_str_make(s, strlen(s)) : PP_STR_NULL;
}

static inline uint64_t text_hash(const char *s)
{
    return s ? pp_str_hash(text(s)) : 0;
}

/* The seconds of a time written as the feeds write it, read by the clean
 * stage's parser (pp_time_parse); the test fails when it does not parse. */
static inline int64_t text_time(const char *s)
{
    int64_t seconds = 0;

    ck_assert_msg(pp_time_parse(s, strlen(s), &seconds), "not a time: \"%s\"", s);
    return seconds;
}

static inline struct pp_clean_item item_base(enum pp_topic topic, int64_t ind, int64_t ts)
{
    struct pp_clean_item it;

    memset(&it, 0, sizeof it);
    it.topic = topic;
    it.reject = PP_REJECT_NONE;
    it.timestamp_ms = ts;
    it.rec.topic = topic;
    it.rec.ind = ind;
    return it;
}

static inline struct pp_clean_item pin_item(int64_t ind, int64_t ts, const char *category,
                                            const char *poster, bool has_fc, int64_t fc)
{
    struct pp_clean_item it = item_base(PP_TOPIC_PIN, ind, ts);

    it.rec.u.pin.category = text(category);
    it.rec.u.pin.poster_name = text(poster);
    it.rec.u.pin.has_follower_count = has_fc;
    it.rec.u.pin.follower_count = fc;
    it.text_hash[0] = text_hash(category);
    it.text_hash[1] = text_hash(poster);
    return it;
}

static inline struct pp_clean_item geo_item(int64_t ind, int64_t ts, const char *country,
                                            bool has_time, int64_t seconds)
{
    struct pp_clean_item it = item_base(PP_TOPIC_GEO, ind, ts);

    it.rec.u.geo.country = text(country);
    it.rec.u.geo.has_timestamp = has_time;
    it.rec.u.geo.timestamp = seconds;
    it.text_hash[0] = text_hash(country);
    return it;
}

static inline struct pp_clean_item user_item(int64_t ind, int64_t ts, const char *user_name,
                                             bool has_age, int64_t age, bool has_joined,
                                             int64_t joined)
{
    struct pp_clean_item it = item_base(PP_TOPIC_USER, ind, ts);

    it.rec.u.user.user_name = text(user_name);
    it.rec.u.user.has_age = has_age;
    it.rec.u.user.age = age;
    it.rec.u.user.has_date_joined = has_joined;
    it.rec.u.user.date_joined = joined;
    it.text_hash[0] = text_hash(user_name);
    return it;
}

static inline struct pp_clean_item reject_item(enum pp_topic topic, int64_t ts,
                                               enum pp_reject reason)
{
    struct pp_clean_item it = item_base(topic, 0, ts);

    it.reject = reason;
    it.raw = text("garbage");
    return it;
}

/* A simple post whose parts are told apart by their text. */
static inline struct pp_clean_item part(enum pp_topic topic, int64_t ind, int64_t ts,
                                        const char *tag)
{
    switch (topic) {
    case PP_TOPIC_PIN: return pin_item(ind, ts, tag, "p", true, 1);
    case PP_TOPIC_GEO: return geo_item(ind, ts, tag, false, 0);
    case PP_TOPIC_USER: return user_item(ind, ts, tag, true, 30, false, 0);
    }
    return item_base(topic, ind, ts);
}

#endif
