package dev.devlane.peers.nacos;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.web.servlet.ServletComponentScan;

/**
 * Nacos's naming server without its console module (not on Maven Central): the same component
 * scan the console's main class does, in stand-alone mode (no cluster peers).
 */
@SpringBootApplication(scanBasePackages = "com.alibaba.nacos")
@ServletComponentScan(basePackages = "com.alibaba.nacos")
public class NacosPeer {
  public static void main(String[] args) {
    System.setProperty("nacos.standalone", "true");
    SpringApplication.run(NacosPeer.class, args);
  }
}
