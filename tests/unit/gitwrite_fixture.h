/*
 * gitwrite_fixture: the helpers test_gitwrite.c and test_gitwrite_pull.c share (see
 * gitwrite_fixture.c). Failures are Check assertions.
 */
#ifndef SKY_TEST_GITWRITE_FIXTURE_H
#define SKY_TEST_GITWRITE_FIXTURE_H

#include <git2.h>
#include <stdbool.h>
#include <stddef.h>

#define TOPO_A "cascade: app\nnodes:\n  db1: {role: root, dsn: \"host=h1\"}\n"
#define TOPO_B "cascade: app\nnodes:\n  db1: {role: root, dsn: \"host=h1\", dead: true}\n"
#define TOPO_C "cascade: app # someone else's edit\nnodes:\n  db1: {role: root, dsn: \"host=h1\"}\n"

/* the test's temporary directory (setup makes it, teardown removes it) */
extern char tmpdir[64];

char *tpath(const char *name);
void setup(void);
void teardown(void);
void write_file(const char *path, const char *content);
char *read_file(const char *path);
void commit_on(const char *dir, const char *content, char hex[41]);
void repo_make(const char *name, bool bare, char hex[41]);
void ref_hex(const char *dir, char hex[41]);
void tracking_hex(const char *dir, char hex[41]);
char *blob_at(const char *dir, const char *hex);
size_t status_count(const char *dir, unsigned int *flags);
void fetch(git_repository *repo, git_remote *origin);
void remote_and_clone(char base[41]);
void hole_open(int fds[2], int *port, bool syn_drop);
void hole_close(int fds[2]);
char *listing(const char *dir);

#endif
