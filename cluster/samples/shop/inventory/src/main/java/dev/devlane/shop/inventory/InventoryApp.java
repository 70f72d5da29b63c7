package dev.devlane.shop.inventory;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;

/** The inventory service of the sample shop: how many of an item are in stock, and which pod says so. */
public final class InventoryApp {
    private static final Map<String, Integer> STOCK = new ConcurrentHashMap<>(Map.of("apple", 12, "pear", 3, "plum", 0));

    public static void main(String[] args) throws IOException {
        int port = Integer.parseInt(System.getenv().getOrDefault("PORT", "8080"));
        String pod = System.getenv().getOrDefault("HOSTNAME", "unknown");
        HttpServer server = HttpServer.create(new InetSocketAddress(port), 64);
        server.setExecutor(Executors.newFixedThreadPool(4));
        server.createContext("/healthz", ex -> reply(ex, 200, "{\"ok\":true}"));
        server.createContext("/stock", ex -> {
            String item = query(ex.getRequestURI(), "item");
            int count = STOCK.getOrDefault(item, 0);
            reply(ex, 200, "{\"item\":\"" + item + "\",\"count\":" + count + ",\"pod\":\"" + pod + "\"}");
        });
        server.start();
        System.out.println("inventory listening on " + port + " in pod " + pod);
    }

    static String query(URI uri, String name) {
        String q = uri.getRawQuery();
        if (q == null) return "";
        for (String part : q.split("&")) {
            int eq = part.indexOf('=');
            if (eq > 0 && part.substring(0, eq).equals(name)) return part.substring(eq + 1);
        }
        return "";
    }

    static void reply(HttpExchange ex, int status, String json) throws IOException {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, body.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(body);
        }
    }
}
