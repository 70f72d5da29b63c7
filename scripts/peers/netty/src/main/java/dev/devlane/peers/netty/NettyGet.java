package dev.devlane.peers.netty;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpVersion;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * GET the URL with Netty (NIO transport, default resolver); prints "ok STATUS BODY" or "failed
 * EXCEPTION". {@code URL reactor}: the same with Reactor Netty (ReactorGet).
 */
public final class NettyGet {
  public static void main(String[] args) throws Exception {
    if (args.length > 1 && args[1].equals("reactor")) {
      System.out.print(ReactorGet.get(args[0]));
      // Reactor Netty's shared event loops outlive the request: end the JVM here.
      System.exit(0);
    }
    URI uri = URI.create(args[0]);
    CompletableFuture<String> result = new CompletableFuture<>();
    EventLoopGroup group = new NioEventLoopGroup(1);
    try {
      Bootstrap b = new Bootstrap()
          .group(group)
          .channel(NioSocketChannel.class)
          .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 20_000)
          .handler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
              ch.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(1 << 20), new SimpleChannelInboundHandler<FullHttpResponse>() {
                @Override
                protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse r) {
                  result.complete("ok " + r.status().code() + " " + r.content().toString(StandardCharsets.UTF_8).trim());
                  ctx.close();
                }

                @Override
                public void exceptionCaught(ChannelHandlerContext ctx, Throwable e) {
                  result.complete("failed " + e.getClass().getName());
                  ctx.close();
                }
              });
            }
          });
      b.connect(uri.getHost(), uri.getPort()).addListener(f -> {
        if (!f.isSuccess()) {
          result.complete("failed " + f.cause().getClass().getName());
          return;
        }
        Channel ch = ((io.netty.channel.ChannelFuture) f).channel();
        DefaultFullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, uri.getRawPath().isEmpty() ? "/" : uri.getRawPath());
        req.headers().set(HttpHeaderNames.HOST, uri.getHost());
        req.headers().set(HttpHeaderNames.CONNECTION, "close");
        ch.writeAndFlush(req);
      });
      System.out.print(result.get(60, TimeUnit.SECONDS));
    } finally {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }
  }
}
