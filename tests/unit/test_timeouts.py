"""Upload-path limits judged by what they limit, on the lab's real files and variations of them."""
from pathlib import Path
from types import SimpleNamespace

import pytest

from glance_hc.timeouts import INACTIVITY, INACTIVITY_ANSWER, QUEUE, REQUEST_START, SIZE, TOTAL, judge, upload_timeouts

DATA = Path(__file__).parent.parent / "data"
HAPROXY = "/etc/haproxy/haproxy.cfg"
INI = "/etc/glance/glance-api-uwsgi.ini"
LAB_HAPROXY = (DATA / "haproxy" / "lab-controller1.cfg").read_text()  # captured from the lab
LAB_INI = (DATA / "uwsgi" / "lab-glance-api-uwsgi.ini").read_text()
LAB = SimpleNamespace(largest_image=64 << 20, slowest_client_rate=10 << 20, client_stall_max=30.0,
                      glance_answer_time=60.0, largest_chunk=1 << 20)  # the lab's thresholds (LAB_ARGS)
BIG = SimpleNamespace(**{**LAB.__dict__, "largest_image": 10 << 30})  # the suite's default 10 GiB


def limits(haproxy_text=LAB_HAPROXY, ini_text=LAB_INI, extra=None, errors=None, env=None):
    files = {HAPROXY: haproxy_text, **({INI: ini_text} if ini_text is not None else {}), **(extra or {})}
    return {limit.key: limit for limit in upload_timeouts(files, (HAPROXY, haproxy_text) if haproxy_text else None,
                                                          INI, file_errors=errors, env=env)}


def test_the_healthy_lab_passes_every_case():
    found = limits()
    assert sorted(found) == [
        "haproxy-glance_api-client", "haproxy-glance_api-server", "uwsgi-chunked-input-limit",
        "uwsgi-chunked-input-timeout", "uwsgi-harakiri", "uwsgi-limit-post", "uwsgi-post-buffering",
        "uwsgi-socket-timeout"]
    assert {key: judge(limit, LAB).ok for key, limit in found.items()} == dict.fromkeys(found, True)
    assert found["haproxy-glance_api-server"].kind == INACTIVITY_ANSWER
    assert found["haproxy-glance_api-client"].where == f"{HAPROXY} defaults (line 8), line 12"


def with_timeout(name, value):
    return LAB_HAPROXY.replace(f"    timeout {name} 15m", f"    timeout {name} {value}")


@pytest.mark.parametrize(
    ("value", "reason"),
    [('"${T}"', "depends on an environment variable of the haproxy process"),
     ("30S", "has the unit 'S', which haproxy does not know")],
)
def test_an_unreadable_haproxy_timeout_fails_with_its_text_and_file(value, reason):
    limit = limits(with_timeout("server", value))["haproxy-glance_api-server"]
    verdict = judge(limit, LAB)
    assert not verdict.ok and verdict.skip is None
    assert reason in verdict.message and f"{HAPROXY} defaults (line 8), line 13" in verdict.message
    assert "inactivity limit" in verdict.message


def test_inactivity_timeouts_are_held_to_the_stall_not_the_upload_length():
    # timeout server 45s: a 10 GiB upload takes 1024 s, but only silence ends it
    assert judge(limits(with_timeout("server", "45s"))["haproxy-glance_api-server"], BIG).ok is False  # answer 60s
    assert judge(limits(with_timeout("server", "90s"))["haproxy-glance_api-server"], BIG).ok is True
    verdict = judge(limits(with_timeout("client", "3s"))["haproxy-glance_api-client"], BIG)
    assert not verdict.ok
    assert verdict.message.startswith("HAProxy timeout client on glance_api is an inactivity limit of 3s "
                                      f"({HAPROXY} defaults (line 8), line 12): it must allow 30s")
    assert "client_stall_max" in verdict.message and "1024" not in verdict.message


def test_total_duration_limits_are_held_to_the_upload_length():
    found = limits(ini_text=LAB_INI + "harakiri = 600\n")
    assert found["uwsgi-harakiri"].kind == TOTAL
    assert judge(found["uwsgi-harakiri"], LAB).ok  # 64 MiB at 10 MiB/s: 6 s + 60 s
    verdict = judge(found["uwsgi-harakiri"], BIG)  # 10 GiB: 1024 s + 60 s
    assert not verdict.ok and "total-duration limit of 600s" in verdict.message and "1084s" in verdict.message
    assert f"{INI}:20" in verdict.message


def test_a_timeout_in_defaults_next_to_one_in_the_backend():
    text = """global
    maxconn 100
defaults
    mode http
    timeout client 3s
    timeout server 3s
    timeout connect 5s
frontend glance_front
    bind 127.0.0.10:9292
    default_backend glance_back
backend glance_back
    timeout server 15m
    server c1 127.0.0.2:9292 check
"""
    found = limits(text)
    client, server = found["haproxy-glance_front-glance_back-client"], found["haproxy-glance_front-glance_back-server"]
    assert (client.value, client.where) == (3.0, f"{HAPROXY} defaults (line 3), line 5")
    assert (server.value, server.where) == (900.0, f"{HAPROXY} backend glance_back (line 11), line 12")
    assert not judge(client, LAB).ok and judge(server, LAB).ok


def test_named_defaults_are_honoured():
    text = """defaults base
    mode http
    timeout client 15m
    timeout server 2s
defaults
    timeout client 1s
    timeout server 1s
listen glance_api from base
    bind :9292
    server c1 127.0.0.2:9292
"""
    found = limits(text)
    assert found["haproxy-glance_api-client"].value == 900.0
    assert found["haproxy-glance_api-server"].where == f"{HAPROXY} defaults base (line 1), line 4"


def test_http_request_with_buffering_bounds_the_start_of_the_request():
    text = LAB_HAPROXY.replace("    option httplog\n", "    option httplog\n    option http-buffer-request\n")
    text = text.replace("timeout http-request 30s", "timeout http-request 5s")
    limit = limits(text)["haproxy-glance_api-http-request"]
    assert limit.kind == REQUEST_START and limit.first_buffer == 16384
    verdict = judge(limit, LAB)
    assert not verdict.ok and "option http-buffer-request" in verdict.message
    assert "haproxy-glance_api-http-request" not in limits()  # without buffering it only covers headers


def test_server_maxconn_makes_the_queue_timeout_a_total_limit():
    text = LAB_HAPROXY.replace("check inter 1s fall 5 rise 1", "check inter 1s fall 5 rise 1 maxconn 4")
    limit = limits(text)["haproxy-glance_api-queue"]
    assert limit.kind == QUEUE and limit.value == 30.0 and "maxconn 4" in limit.note
    assert judge(limit, LAB).ok and not judge(limit, BIG).ok


@pytest.mark.parametrize(
    ("line", "ok", "shown"),
    [("limit-post = 33554432", False, "32 MiB"), ("limit-post = 32M", False, "32 B"),
     ("limit-post = 0", True, None), ("limit-post = 1073741824", True, None)],
)
def test_limit_post_below_the_largest_image_fails(line, ok, shown):
    limit = limits(ini_text=LAB_INI + line + "\n")["uwsgi-limit-post"]
    verdict = judge(limit, LAB)
    assert limit.kind == SIZE and verdict.ok is ok
    if shown:
        assert f"a request-size limit of {shown}" in verdict.message and f"{INI}:20" in verdict.message
    if line.endswith("32M"):
        assert "uWSGI reads '32M' as 32: it takes the leading digits only" in verdict.message


def test_chunked_input_limit_and_post_buffering():
    found = limits(ini_text=LAB_INI + "chunked-input-limit = 524288\npost-buffering = 65536\n")
    assert not judge(found["uwsgi-chunked-input-limit"], LAB).ok
    assert judge(found["uwsgi-chunked-input-limit"], SimpleNamespace(**{**LAB.__dict__, "largest_chunk": 1 << 19})).ok
    verdict = judge(found["uwsgi-post-buffering"], LAB)
    assert not verdict.ok and "held whole before Glance sees a byte" in verdict.message


@pytest.mark.parametrize(
    ("line", "text"),
    [("harakiri = %(x)", "%(x) names no option or placeholder"),
     ("harakiri = $(HARAKIRI)", "$(HARAKIRI) comes from the uWSGI process's environment"),
     ("harakiri = " + "9" * 5000, "absurd number")],
)
def test_an_unresolvable_uwsgi_value_fails_never_passes(line, text):
    limit = limits(ini_text=LAB_INI + line + "\n")["uwsgi-harakiri"]
    verdict = judge(limit, LAB)
    assert not verdict.ok and verdict.skip is None and text in verdict.message and f"{INI}:20" in verdict.message


def test_an_include_that_could_not_be_read_makes_its_cases_skip():
    found = limits(ini_text=LAB_INI + "ini = /etc/glance/uwsgi-extra.ini\n",
                   errors={"/etc/glance/uwsgi-extra.ini": "Permission denied"})
    verdict = judge(found["uwsgi-harakiri"], LAB)
    assert verdict.skip and "/etc/glance/uwsgi-extra.ini" in verdict.skip and "Permission denied" in verdict.skip
    assert judge(found["uwsgi-socket-timeout"], LAB).skip  # set before the include: it may override it


def test_an_include_that_was_read_is_followed():
    found = limits(ini_text=LAB_INI + "ini = /etc/glance/uwsgi-extra.ini\n",
                   extra={"/etc/glance/uwsgi-extra.ini": "[uwsgi]\nharakiri = 30\n"})
    assert found["uwsgi-harakiri"].value == 30 and found["uwsgi-harakiri"].where == "/etc/glance/uwsgi-extra.ini:2"


def test_an_unreadable_uwsgi_ini_makes_every_uwsgi_case_exist_and_skip():
    found = limits(ini_text=None, errors={INI: "Permission denied"})
    uwsgi_cases = {key: judge(limit, LAB) for key, limit in found.items() if key.startswith("uwsgi-")}
    assert set(uwsgi_cases) >= {"uwsgi-harakiri", "uwsgi-socket-timeout", "uwsgi-limit-post"}
    assert all(v.skip == f"cannot read uWSGI {k[6:]}: {INI}: Permission denied" for k, v in uwsgi_cases.items())


NGINX = """user www-data;
events { worker_connections 768; }
http {
    client_max_body_size 0;
    include /etc/nginx/conf.d/*.conf;
}
"""
NGINX_SITE = """upstream glance_api { server 127.0.0.2:9292; server 127.0.0.3:9292; }
server {
    listen 443 ssl;
    server_name image.example.com;
    location / {
        proxy_pass http://glance_api;
        proxy_request_buffering off;
        proxy_read_timeout 30s;
    }
}
"""


def test_nginx_in_front_is_parsed_with_its_includes():
    found = limits(extra={"/etc/nginx/nginx.conf": NGINX, "/etc/nginx/conf.d/glance.conf": NGINX_SITE})
    nginx = {k: v for k, v in found.items() if k.startswith("nginx-")}
    assert sorted(nginx) == ["nginx-image.example.com/-client_body_timeout",
                             "nginx-image.example.com/-client_max_body_size",
                             "nginx-image.example.com/-proxy_read_timeout",
                             "nginx-image.example.com/-proxy_request_buffering",
                             "nginx-image.example.com/-proxy_send_timeout"]
    assert judge(nginx["nginx-image.example.com/-client_max_body_size"], LAB).ok  # 0 = unlimited
    read = judge(nginx["nginx-image.example.com/-proxy_read_timeout"], LAB)
    assert not read.ok and "/etc/nginx/conf.d/glance.conf:8" in read.message  # 30s < Glance's 60s answer
    assert judge(nginx["nginx-image.example.com/-client_body_timeout"], LAB).ok  # default 60s > 30s stall


def test_nginx_defaults_refuse_large_images_and_buffer_them():
    site = NGINX_SITE.replace("        proxy_request_buffering off;\n", "")
    found = limits(extra={"/etc/nginx/nginx.conf": NGINX.replace("    client_max_body_size 0;\n", ""),
                          "/etc/nginx/conf.d/glance.conf": site})
    size = judge(found["nginx-image.example.com/-client_max_body_size"], LAB)
    assert not size.ok and "request-size limit of 1 MiB" in size.message and "nginx default" in size.message
    assert not judge(found["nginx-image.example.com/-proxy_request_buffering"], LAB).ok
    assert "nginx-image.example.com/-proxy_send_timeout" not in found  # a buffered body is sent at once


def test_kinds_of_the_lab_cases():
    found = limits()
    assert {k: v.kind for k, v in found.items() if k.startswith("haproxy")} == {
        "haproxy-glance_api-client": INACTIVITY, "haproxy-glance_api-server": INACTIVITY_ANSWER}


def test_a_container_ini_follows_includes_inside_the_container():
    ini = "container:/etc/glance/glance-api-uwsgi.ini"
    files = {ini: LAB_INI + "ini = /etc/glance/extra.ini\n", "container:/etc/glance/extra.ini": "[uwsgi]\nharakiri = 7\n"}
    found = {limit.key: limit for limit in upload_timeouts(files, None, ini)}
    assert found["uwsgi-harakiri"].value == 7 and found["uwsgi-harakiri"].where == "/etc/glance/extra.ini:2"
