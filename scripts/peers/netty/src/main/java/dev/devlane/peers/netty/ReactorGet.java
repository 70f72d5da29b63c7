package dev.devlane.peers.netty;

import io.netty.channel.epoll.Epoll;
import java.time.Duration;
import reactor.core.publisher.Mono;
import reactor.netty.http.client.HttpClient;

/**
 * GET the URL with Reactor Netty's HttpClient as created by default (what Spring WebClient runs
 * on): Netty's own DNS resolver, and on Linux the epoll transport when Netty may load it. Prints
 * "ok STATUS BODY | epoll=BOOL" or "failed EXCEPTION | epoll=BOOL": whether the native transport
 * was there to be used.
 */
final class ReactorGet {
  private ReactorGet() {}

  static String get(String url) {
    String result = HttpClient.create()
        .responseTimeout(Duration.ofSeconds(20))
        .get()
        .uri(url)
        .responseSingle((res, body) -> body.asString().defaultIfEmpty("").map(s -> "ok " + res.status().code() + " " + s.trim()))
        .onErrorResume(e -> Mono.just("failed " + e.getClass().getName()))
        .block(Duration.ofSeconds(60));
    return result + " | epoll=" + Epoll.isAvailable();
  }
}
