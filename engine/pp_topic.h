/*
 * pp_topic: the three record kinds of a post. Topics are named
 * "<prefix>.pin", "<prefix>.geo" and "<prefix>.user".
 */
#ifndef PP_TOPIC_H
#define PP_TOPIC_H

enum pp_topic { PP_TOPIC_PIN = 0, PP_TOPIC_GEO = 1, PP_TOPIC_USER = 2 };

#define PP_TOPIC_COUNT 3

/* "pin", "geo", "user": also the topic-name suffix after the dot. */
static inline const char *pp_topic_name(enum pp_topic topic)
{
    static const char *const names[PP_TOPIC_COUNT] = {"pin", "geo", "user"};
    return names[topic];
}

#endif
