# cpack -G DEB: the Debian package of skycascade (docs/operations.md). Configure with
# -DCMAKE_INSTALL_PREFIX=/usr for a package laid out as Debian wants it; the package uses the
# configured prefix, so the units' ExecStart= always names the packaged programs.
set(SKY_PACKAGE_MAINTAINER "skycascade maintainers <maintainers@users.noreply.b-seed-05bec346.example>"
	CACHE STRING "the Maintainer field of the Debian package")

set(CPACK_PACKAGE_NAME skycascade)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT ${SKY_PACKAGE_MAINTAINER})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
	"cascaded replication for PostgreSQL 15 on PgQ, driven by topology.yaml")
set(CPACK_PACKAGE_DESCRIPTION
	"Skytools-3-style cascaded replication for PostgreSQL 15 built on PgQ: skyworker, the
pull-apply worker of one node (root, branch or leaf), and skyreconcile, which makes the
cascade match a declarative topology.yaml. Ships systemd units (skyworker@.service,
skyreconcile-watch.service), man pages, example topologies and the JSON Schema of
topology.yaml.")
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_STRIP_FILES ON)
set(CPACK_GENERATOR DEB)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION database)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# the shared libraries' packages (libc6, libpq5, libyaml-0-2, libgit2-1.5, libjansson4) come
# from dpkg-shlibdeps; what the programs need at run time besides: PgQ on the nodes, the
# ticker, and adduser for the postinst
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, postgresql-15-pgq3, pgqd")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "git")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
	${CMAKE_SOURCE_DIR}/dist/debian/postinst
	${CMAKE_SOURCE_DIR}/dist/debian/prerm
	${CMAKE_SOURCE_DIR}/dist/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
