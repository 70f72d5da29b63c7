package dev.devlane.shop.orders;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.Executors;

/**
 * The orders service of the sample shop. An order asks the inventory service (by its cluster DNS
 * name) whether the item is in stock and answers with both pods' names.
 */
public final class OrdersApp {
    public static void main(String[] args) throws IOException {
        int port = Integer.parseInt(System.getenv().getOrDefault("PORT", "8080"));
        String pod = System.getenv().getOrDefault("HOSTNAME", "unknown");
        String inventory = System.getenv().getOrDefault("INVENTORY_URL", "http://inventory:8080");
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        HttpServer server = HttpServer.create(new InetSocketAddress(port), 64);
        server.setExecutor(Executors.newFixedThreadPool(4));
        server.createContext("/healthz", ex -> reply(ex, 200, "{\"ok\":true}"));
        server.createContext("/order", ex -> handleOrder(ex, client, inventory, pod));
        server.start();
        System.out.println("orders listening on " + port + " in pod " + pod + ", inventory at " + inventory);
    }

    static void handleOrder(HttpExchange ex, HttpClient client, String inventory, String pod) throws IOException {
        String item = query(ex.getRequestURI(), "item");
        if (item.isEmpty()) item = "apple";
        try {
            HttpRequest request = HttpRequest.newBuilder(URI.create(inventory + "/stock?item=" + item)).timeout(Duration.ofSeconds(10)).build();
            HttpResponse<String> stock = client.send(request, HttpResponse.BodyHandlers.ofString());
            boolean accepted = stock.statusCode() == 200 && !stock.body().contains("\"count\":0");
            System.out.println("order for " + item + (accepted ? " accepted" : " rejected"));
            reply(ex, 200, "{\"item\":\"" + item + "\",\"accepted\":" + accepted + ",\"pod\":\"" + pod + "\",\"inventory\":" + stock.body() + "}");
        } catch (IOException | InterruptedException e) {
            System.err.println("inventory unreachable: " + e);
            reply(ex, 502, "{\"error\":\"inventory unreachable\",\"pod\":\"" + pod + "\"}");
        }
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
