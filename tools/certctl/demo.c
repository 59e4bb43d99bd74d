/* demo.c — certctl demo: a complete, self-contained deployment.
 *
 * Synthetic but standards-valid: every identifier, credit code and citizen
 * ID number carries the right check character; agencies seal with their own
 * keys (ECDSA P-256 or RSA-2048) under a demo seal CA. Certificates are made
 * in identifier order, sealed on every core, written as JSON Lines and loaded
 * through the same import path that `certctl import` uses.
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "certctl.h"
#include "core/cert.h"
#include "core/ident.h"
#include "core/import.h"
#include "core/signer.h"
#include "core/trust.h"
#include "core/venue.h"

/* ---- deterministic randomness ------------------------------------------ */

typedef struct rng {
  uint64_t s;
} rng_t;

static uint64_t rnd(rng_t *r) { /* splitmix64 */
  uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
static unsigned below(rng_t *r, unsigned n) { return (unsigned)(rnd(r) % n); }
static int chance(rng_t *r, unsigned percent_x10) { return below(r, 1000) < percent_x10; }

/* ---- dates ---------------------------------------------------------------- */

/* Days since 1970-01-01 of a civil date, and back (H. Hinnant's algorithms). */
static long days_from_civil(int y, int m, int d) {
  y -= m <= 2;
  long era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (unsigned)((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (long)doe - 719468;
}

static uint32_t ymd_from_days(long z) {
  z += 719468;
  long era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  long y = (long)yoe + era * 400;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  unsigned d = doy - (153 * mp + 2) / 5 + 1;
  unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return (uint32_t)((y + (m <= 2)) * 10000 + m * 100 + d);
}

static long days_of(uint32_t ymd) {
  return days_from_civil((int)(ymd / 10000), (int)(ymd / 100 % 100), (int)(ymd % 100));
}

/* The same month and day `years` later (29 February becomes 28 February). */
static uint32_t add_years(uint32_t ymd, int years) {
  uint32_t y = ymd / 10000 + (uint32_t)years, md = ymd % 10000;
  if (md == 229 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
    md = 228;
  return y * 10000 + md;
}

static void ymd_str(uint32_t ymd, char out[16]) { snprintf(out, 16, "%08u", ymd % 100000000u); }

/* ---- the city ------------------------------------------------------------- */

static const struct {
  const char *code, *name;
} districts[] = {
    {"370102", "历下区"}, {"370103", "市中区"}, {"370104", "槐荫区"}, {"370105", "天桥区"},
    {"370112", "历城区"}, {"370113", "长清区"}, {"370114", "章丘区"}, {"370115", "济阳区"},
    {"370116", "莱芜区"}, {"370117", "钢城区"}, {"370124", "平阴县"}, {"370126", "商河县"},
};
#define NDISTRICTS (sizeof districts / sizeof *districts)

/* Where citizens born elsewhere come from (they may hold a 居住证). */
static const struct {
  const char *code, *place;
} elsewhere[] = {
    {"370202", "山东省青岛市市南区"}, {"370302", "山东省淄博市淄川区"},
    {"371302", "山东省临沂市兰山区"}, {"410102", "河南省郑州市中原区"},
    {"130102", "河北省石家庄市长安区"}, {"110105", "北京市朝阳区"},
    {"320102", "江苏省南京市玄武区"}, {"340102", "安徽省合肥市瑶海区"},
};

static const char surnames[] = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾"
                               "肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦"
                               "付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴孔汤";
static const char given[] = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华玉萍红玲芬燕彬浩宇"
                            "轩涵梓萱诺欣怡佳琪思远俊博文天佑雨桐子墨晨阳嘉懿瑞泽昊然睿婷雪梅建国"
                            "志鹏海燕春晓立新振东凤丹凯旭亮辉鑫淑琳晶颖家豪";
static const char *const streets[] = {"泉城路", "经十路", "解放路", "历山路", "文化东路", "山大路",
                                      "和平路", "二环东路", "工业南路", "花园路", "舜耕路",
                                      "英雄山路", "阳光新路", "经四路", "纬二路", "大明湖路"};
static const char *const ethnicities[] = {"汉", "汉", "汉", "汉", "汉", "汉", "汉", "回", "满", "蒙古"};
static const char *const firm_words[] = {"华信", "泉盛", "齐鲁", "明湖", "趵突", "千佛", "舜耕",
                                         "海右", "泺源", "大明", "金鼎", "瑞丰", "恒通", "鑫源",
                                         "博远", "众诚", "天元", "嘉禾", "鲁泰", "泉润"};
static const char *const industries[] = {"科技", "商贸", "餐饮管理", "建筑工程", "物流", "医药",
                                         "信息技术", "食品", "文化传媒", "环保科技", "机械制造",
                                         "物业服务"};
static const char *const hospitals[] = {"济南市妇幼保健院", "山东大学齐鲁医院", "山东省立医院",
                                        "济南市中心医院", "济南市第四人民医院"};
static const char *const universities[] = {"山东大学", "山东师范大学", "济南大学", "山东财经大学",
                                           "齐鲁工业大学"};
static const char *const majors[] = {"计算机科学与技术", "会计学", "法学", "临床医学", "土木工程",
                                     "汉语言文学", "机械设计制造及其自动化", "市场营销", "护理学",
                                     "电子信息工程"};

static void pick_utf8(rng_t *r, const char *set, char *out, size_t *len) {
  size_t n = strlen(set) / 3, i = below(r, (unsigned)n); /* every character is 3 bytes */
  memcpy(out + *len, set + 3 * i, 3);
  *len += 3;
  out[*len] = '\0';
}

/* ---- who defines, who issues ----------------------------------------------- */

/* Central bodies that define certificate types: their codes are synthetic
 * (but for 住建部's, which is real) and carry valid check characters. */
enum { B_MPS, B_SAMR, B_MCA, B_MNR, B_MOE, B_MOHRSS, B_NHC, B_MOT, B_MOHURD, B_MEM, B_CDPF,
       B_MVA, B_MCT, B_NMPA, B__N };
static const struct {
  const char *name, *org8;
} bodies[B__N] = {
    [B_MPS] = {"公安部", "00001971"},         [B_SAMR] = {"国家市场监督管理总局", "MB014340"},
    [B_MCA] = {"民政部", "00000135"},         [B_MNR] = {"自然资源部", "MB180324"},
    [B_MOE] = {"教育部", "00000130"},         [B_MOHRSS] = {"人力资源和社会保障部", "00000141"},
    [B_NHC] = {"国家卫生健康委员会", "MB183272"}, [B_MOT] = {"交通运输部", "00000127"},
    [B_MOHURD] = {"住房和城乡建设部", "00001333"}, [B_MEM] = {"应急管理部", "MB180379"},
    [B_CDPF] = {"中国残疾人联合会", "50001134"}, [B_MVA] = {"退役军人事务部", "MB180382"},
    [B_MCT] = {"文化和旅游部", "MB183185"},   [B_NMPA] = {"国家药品监督管理局", "MB183312"},
};

/* Kinds of issuing agency. Police branches issue per district; the others
 * are city-wide bodies (or, for degrees and births, universities and
 * hospitals, which issue those certificates themselves). */
enum { A_POLICE, A_MARKET, A_CIVIL, A_LAND, A_EDU, A_HRSS, A_HEALTH, A_TRANSPORT, A_HOUSING,
       A_EMERGENCY, A_DISABLED, A_VETERAN, A_CULTURE, A_DRUG, A_UNIV, A_HOSPITAL, A__N };
static const struct {
  const char *name;
  const char *reg; /* registering authority + organisation type of its credit code */
  cg_seal_alg_t alg;
} akinds[A__N] = {
    [A_POLICE] = {"济南市公安局", "11", CG_SEAL_ES256},
    [A_MARKET] = {"济南市市场监督管理局", "11", CG_SEAL_ES256},
    [A_CIVIL] = {"济南市民政局", "11", CG_SEAL_RS256},
    [A_LAND] = {"济南市自然资源和规划局", "11", CG_SEAL_RS256},
    [A_EDU] = {"济南市教育局", "11", CG_SEAL_ES256},
    [A_HRSS] = {"济南市人力资源和社会保障局", "11", CG_SEAL_ES256},
    [A_HEALTH] = {"济南市卫生健康委员会", "11", CG_SEAL_ES256},
    [A_TRANSPORT] = {"济南市交通运输局", "11", CG_SEAL_ES256},
    [A_HOUSING] = {"济南市住房和城乡建设局", "11", CG_SEAL_ES256},
    [A_EMERGENCY] = {"济南市应急管理局", "11", CG_SEAL_ES256},
    [A_DISABLED] = {"济南市残疾人联合会", "13", CG_SEAL_ES256},
    [A_VETERAN] = {"济南市退役军人事务局", "11", CG_SEAL_ES256},
    [A_CULTURE] = {"济南市文化和旅游局", "11", CG_SEAL_ES256},
    [A_DRUG] = {"山东省药品监督管理局", "11", CG_SEAL_ES256},
    [A_UNIV] = {NULL, "12", CG_SEAL_ES256},
    [A_HOSPITAL] = {NULL, "12", CG_SEAL_ES256},
};

enum { HOLD_CITIZEN = 1, HOLD_ORG = 2 };

enum ctype_id {
  T_IDCARD, T_HUKOU, T_DRIVING, T_VEHICLE, T_MARRIAGE, T_DIVORCE, T_PROPERTY, T_DEGREE,
  T_DIPLOMA, T_SOCIAL, T_BIRTH, T_TEACHER, T_NURSE, T_DOCTOR, T_DISABLED, T_RESIDENCE,
  T_VETERAN, T_GUIDE, T_SPECIAL, T_BUSINESS, T_FOOD, T_ROAD, T_BUILDER, T_SAFETY, T_DRUG,
  T_ORG_PROPERTY, T__N
};

static const struct ctype {
  const char *name;
  int body;
  const char *seq;   /* the 3 digits after the defining body's code */
  int holder;
  int agency;
  int years;         /* validity; 0: 长期 */
  int pct_x10;       /* share of holders who have one, in tenths of a percent */
} ctypes[T__N] = {
    [T_IDCARD] = {"居民身份证", B_MPS, "001", HOLD_CITIZEN, A_POLICE, -1, 1000},
    [T_HUKOU] = {"居民户口簿", B_MPS, "002", HOLD_CITIZEN, A_POLICE, 0, 800},
    [T_DRIVING] = {"机动车驾驶证", B_MPS, "003", HOLD_CITIZEN, A_POLICE, 10, 500},
    [T_VEHICLE] = {"机动车行驶证", B_MPS, "004", HOLD_CITIZEN, A_POLICE, 0, 300},
    [T_MARRIAGE] = {"结婚证", B_MCA, "001", HOLD_CITIZEN, A_CIVIL, 0, 400},
    [T_DIVORCE] = {"离婚证", B_MCA, "002", HOLD_CITIZEN, A_CIVIL, 0, 40},
    [T_PROPERTY] = {"不动产权证书", B_MNR, "001", HOLD_CITIZEN, A_LAND, 0, 350},
    [T_DEGREE] = {"学位证书", B_MOE, "001", HOLD_CITIZEN, A_UNIV, 0, 350},
    [T_DIPLOMA] = {"毕业证书", B_MOE, "002", HOLD_CITIZEN, A_UNIV, 0, 450},
    [T_SOCIAL] = {"社会保障卡", B_MOHRSS, "001", HOLD_CITIZEN, A_HRSS, 10, 900},
    [T_BIRTH] = {"出生医学证明", B_NHC, "001", HOLD_CITIZEN, A_HOSPITAL, 0, 200},
    [T_TEACHER] = {"教师资格证书", B_MOE, "003", HOLD_CITIZEN, A_EDU, 0, 50},
    [T_NURSE] = {"护士执业证书", B_NHC, "002", HOLD_CITIZEN, A_HEALTH, 5, 30},
    [T_DOCTOR] = {"医师执业证书", B_NHC, "003", HOLD_CITIZEN, A_HEALTH, 0, 30},
    [T_DISABLED] = {"中华人民共和国残疾人证", B_CDPF, "001", HOLD_CITIZEN, A_DISABLED, 10, 20},
    [T_RESIDENCE] = {"居住证", B_MPS, "005", HOLD_CITIZEN, A_POLICE, 3, 0},
    [T_VETERAN] = {"退役军人优待证", B_MVA, "001", HOLD_CITIZEN, A_VETERAN, 0, 30},
    [T_GUIDE] = {"导游证", B_MCT, "001", HOLD_CITIZEN, A_CULTURE, 3, 10},
    [T_SPECIAL] = {"特种设备作业人员证", B_SAMR, "002", HOLD_CITIZEN, A_MARKET, 4, 30},
    [T_BUSINESS] = {"营业执照", B_SAMR, "001", HOLD_ORG, A_MARKET, 0, 1000},
    [T_FOOD] = {"食品经营许可证", B_SAMR, "003", HOLD_ORG, A_MARKET, 5, 300},
    [T_ROAD] = {"道路运输经营许可证", B_MOT, "001", HOLD_ORG, A_TRANSPORT, 4, 80},
    [T_BUILDER] = {"建筑业企业资质证书", B_MOHURD, "001", HOLD_ORG, A_HOUSING, 5, 100},
    [T_SAFETY] = {"安全生产许可证", B_MEM, "001", HOLD_ORG, A_EMERGENCY, 3, 80},
    [T_DRUG] = {"药品经营许可证", B_NMPA, "001", HOLD_ORG, A_DRUG, 5, 50},
    [T_ORG_PROPERTY] = {"不动产权证书", B_MNR, "001", HOLD_ORG, A_LAND, 0, 200},
};

typedef struct agency {
  char name[128];
  char code[19];
  char area[7];
  int kind;
  cg_seal_alg_t alg;
  char slug[24];
  cg_signer_t *signer;
  char cert_pem[8192], key_pem[8192];
} agency_t;

typedef struct holder {
  int type; /* HOLD_… */
  char code[19];
  char name[64];
  uint32_t birth;  /* citizens: yyyymmdd; organisations: date established */
  int female;
  int district;    /* index into districts */
  int from;        /* -1: born in the city, else index into elsewhere */
  char address[160];
  char phone[12];
  char rep[32];    /* organisations: legal representative */
  uint64_t seed;   /* for the certificate data */
} holder_t;

typedef struct spec {
  char ident[CG_IDENT_MAX + 1];
  uint32_t holder;
  uint8_t type;
  uint8_t status;
  uint16_t agency;
  uint32_t issued, expiring;
  uint32_t serial;
} spec_t;

struct demo {
  const char *dir;
  unsigned count, port;
  uint64_t seed;
  int keep_source, force, verify;
  uint32_t today;
  long today_days;
  char type_code[T__N][22];
  char body_code[B__N][19];
  agency_t *agencies;
  int nagencies;
  int agency_of[A__N][NDISTRICTS]; /* police per district, others in slot 0 */
  holder_t *holders;
  size_t nholders;     /* the store's holders; upstream-only ones follow them */
  spec_t *specs;       /* the store's certificates */
  size_t nspecs;
  uint32_t *counter;   /* serials given so far per (type, agency) */
  uint32_t *has_types; /* per holder, a bit for each type held (local or upstream) */
  cg_signer_t *ca;
  struct upstream {    /* a platform's own certificates: city, then province */
    const char *name;
    spec_t *specs;
    size_t nspecs;
    unsigned port;
    char access_id[17], token[49];
  } up[2];
};

/* A credit code (GB 32100) from its first two characters, area code and an
 * 8-character organisation stem: the GB 11714 and MOD 31 check characters
 * are computed, never made up. */
static void make_uscc(const char *reg2, const char *area6, const char *org8, char out[19]) {
  memcpy(out, reg2, 2);
  memcpy(out + 2, area6, 6);
  memcpy(out + 8, org8, 8);
  out[16] = cg_ident_orgcode_check_char(out + 8);
  out[17] = cg_ident_uscc_check_char(out);
  out[18] = '\0';
}

static void random_org8(rng_t *r, char out[9]) {
  static const char set[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
  out[0] = "MJ"[below(r, 2)];
  for (int i = 1; i < 8; i++)
    out[i] = set[below(r, 31)];
  out[8] = '\0';
}

static void make_citizen_id(const char *area6, uint32_t birth, unsigned seq3, int female,
                            char out[19]) {
  /* The sequence is odd for men and even for women (GB 11643). */
  seq3 = (seq3 & ~1u) | (female ? 0u : 1u);
  snprintf(out, 19, "%.6s%08u%03u", area6, birth, seq3 % 1000);
  out[17] = cg_ident_citizen_check_char(out);
  out[18] = '\0';
}

static int add_agency(struct demo *d, int kind, const char *name, const char *area, rng_t *r) {
  agency_t *a = &d->agencies[d->nagencies];
  char org8[9];

  snprintf(a->name, sizeof a->name, "%s", name);
  snprintf(a->area, sizeof a->area, "%s", area);
  random_org8(r, org8);
  make_uscc(akinds[kind].reg, area, org8, a->code);
  a->kind = kind;
  a->alg = akinds[kind].alg;
  snprintf(a->slug, sizeof a->slug, "%s", a->code);
  return d->nagencies++;
}

static void make_agencies(struct demo *d, rng_t *r) {
  char name[128];

  d->agencies = calloc(64, sizeof *d->agencies);
  for (int k = 0; k < A__N; k++) {
    if (k == A_POLICE) {
      for (size_t i = 0; i < NDISTRICTS; i++) {
        /* 区 and 县 branches: 济南市公安局历下区分局 */
        snprintf(name, sizeof name, "%s%s分局", akinds[k].name, districts[i].name);
        d->agency_of[k][i] = add_agency(d, k, name, districts[i].code, r);
      }
    } else if (k == A_UNIV) {
      for (size_t i = 0; i < sizeof universities / sizeof *universities; i++)
        d->agency_of[k][i] = add_agency(d, k, universities[i], "370100", r);
    } else if (k == A_HOSPITAL) {
      for (size_t i = 0; i < sizeof hospitals / sizeof *hospitals; i++)
        d->agency_of[k][i] = add_agency(d, k, hospitals[i], "370100", r);
    } else {
      d->agency_of[k][0] =
          add_agency(d, k, akinds[k].name, k == A_DRUG ? "370000" : "370100", r);
    }
  }
}

static void make_holder(struct demo *d, holder_t *h, int type, rng_t *r) {
  size_t len = 0;

  memset(h, 0, sizeof *h);
  h->type = type;
  h->seed = rnd(r);
  h->district = (int)below(r, NDISTRICTS);
  snprintf(h->phone, sizeof h->phone, "1%c%09u", "3456789"[below(r, 7)], below(r, 1000000000));
  if (type == HOLD_CITIZEN) {
    const char *area;
    /* Ages 0 to 90, most between 18 and 70. */
    int age = chance(r, 150) ? (int)below(r, 18) : 18 + (int)below(r, chance(r, 900) ? 52 : 72);
    long bd = d->today_days - (long)age * 365 - (long)below(r, 365);
    h->birth = ymd_from_days(bd);
    h->female = (int)below(r, 2);
    h->from = chance(r, 150) ? (int)below(r, sizeof elsewhere / sizeof *elsewhere) : -1;
    area = h->from >= 0 ? elsewhere[h->from].code : districts[h->district].code;
    make_citizen_id(area, h->birth, below(r, 1000), h->female, h->code);
    pick_utf8(r, surnames, h->name, &len);
    pick_utf8(r, given, h->name, &len);
    if (chance(r, 600))
      pick_utf8(r, given, h->name, &len);
    snprintf(h->address, sizeof h->address, "山东省济南市%s%s%u号%u单元%u室",
             districts[h->district].name, streets[below(r, sizeof streets / sizeof *streets)],
             1 + below(r, 300), 1 + below(r, 6), 101 + below(r, 6) * 100 + below(r, 4));
  } else {
    char org8[9];
    h->birth = ymd_from_days(d->today_days - 30 - (long)below(r, 365 * 25));
    random_org8(r, org8);
    make_uscc("91", districts[h->district].code, org8, h->code);
    snprintf(h->name, sizeof h->name, "济南%s%s有限公司",
             firm_words[below(r, sizeof firm_words / sizeof *firm_words)],
             industries[below(r, sizeof industries / sizeof *industries)]);
    pick_utf8(r, surnames, h->rep, &len);
    pick_utf8(r, given, h->rep, &len);
    snprintf(h->address, sizeof h->address, "山东省济南市%s%s%u号", districts[h->district].name,
             streets[below(r, sizeof streets / sizeof *streets)], 1 + below(r, 900));
  }
}

static int age_on(const holder_t *h, long days, long today_days) {
  (void)today_days;
  return (int)((days - days_of(h->birth)) / 365);
}

/* Chooses which certificates a holder has and appends their specs to
 * specs[*n], stopping at limit. */
static void plan_holder(struct demo *d, uint32_t hi, rng_t *r, spec_t *specs, size_t *n,
                        size_t limit) {
  holder_t *h = &d->holders[hi];
  int age = age_on(h, d->today_days, d->today_days);

  for (int t = 0; t < T__N && *n < limit; t++) {
    const struct ctype *ct = &ctypes[t];
    long earliest, latest;
    spec_t *s;

    if (ct->holder != h->type)
      continue;
    if (h->type == HOLD_CITIZEN) {
      int want = t == T_RESIDENCE ? (h->from >= 0 && chance(r, 700)) : chance(r, (unsigned)ct->pct_x10);
      if (!want)
        continue;
      if (t == T_BIRTH && age > 30)
        continue;
      if ((t == T_DRIVING || t == T_VEHICLE || t == T_MARRIAGE || t == T_DIVORCE ||
           t == T_PROPERTY || t == T_TEACHER || t == T_NURSE || t == T_DOCTOR ||
           t == T_VETERAN || t == T_GUIDE || t == T_SPECIAL) &&
          age < 23)
        continue;
      if ((t == T_DEGREE || t == T_DIPLOMA) && age < 22)
        continue;
      /* Issued once the holder was old enough, within the last 12 years. */
      earliest = days_of(h->birth) + (t == T_BIRTH ? 3 : t == T_IDCARD ? 16 * 365 : t == T_HUKOU || t == T_SOCIAL ? 30 : 22 * 365);
    } else {
      if (!chance(r, (unsigned)ct->pct_x10))
        continue;
      earliest = days_of(h->birth);
    }
    latest = d->today_days - 7;
    if (earliest < d->today_days - 12 * 365)
      earliest = d->today_days - 12 * 365;
    if (t == T_BIRTH)
      latest = days_of(h->birth) + 30 < latest ? days_of(h->birth) + 30 : latest;
    if (earliest > latest)
      continue;
    s = &specs[(*n)++];
    memset(s, 0, sizeof *s);
    s->holder = hi;
    s->type = (uint8_t)t;
    s->issued = ymd_from_days(earliest + (long)below(r, (unsigned)(latest - earliest + 1)));
    if (ct->years > 0) {
      s->expiring = add_years(s->issued, ct->years);
    } else if (ct->years < 0) { /* 居民身份证: by age at issue (GB/T 36901 aside, the law) */
      int a = age_on(h, days_of(s->issued), d->today_days);
      s->expiring = a < 26 ? add_years(s->issued, 10) : a < 46 ? add_years(s->issued, 20) : 0;
    }
    s->status = CG_CERT_VALID;
    if (chance(r, 10))
      s->status = CG_CERT_REVOKED;
    else if (chance(r, 5))
      s->status = CG_CERT_SUSPENDED;
    if (ct->agency == A_POLICE)
      s->agency = (uint16_t)d->agency_of[A_POLICE][h->district];
    else if (ct->agency == A_UNIV)
      s->agency = (uint16_t)d->agency_of[A_UNIV][below(r, sizeof universities / sizeof *universities)];
    else if (ct->agency == A_HOSPITAL)
      s->agency = (uint16_t)d->agency_of[A_HOSPITAL][below(r, sizeof hospitals / sizeof *hospitals)];
    else
      s->agency = (uint16_t)d->agency_of[ct->agency][0];
  }
}

static int spec_cmp(const void *a, const void *b) {
  return strcmp(((const spec_t *)a)->ident, ((const spec_t *)b)->ident);
}

/* Serials run per (type, agency) in issue order: year and an 8-digit count,
 * a fixed width so that identifier order is issue order within an agency
 * and a set. The count goes on from one set of specs to the next (the
 * store's, then each platform's), so no two sets share an identifier.
 * Sorts specs. */
static void make_identifiers(struct demo *d, spec_t *specs, size_t nspecs) {
  uint32_t *counter = d->counter;
  char payload[96];

  for (size_t i = 0; i < nspecs; i++) {
    spec_t *s = &specs[i];
    agency_t *a = &d->agencies[s->agency];
    /* Types that share a type code (不动产权证书 for citizens and for
     * organisations) share the count too. */
    int t = s->type == T_ORG_PROPERTY ? T_PROPERTY : s->type;
    uint32_t n = ++counter[(size_t)t * (size_t)d->nagencies + s->agency];
    int len = snprintf(payload, sizeof payload, "%s%s%04u%08u001", d->type_code[s->type], a->code,
                       s->issued / 10000, n);
    char check = cg_ident_mod37_36(payload, (size_t)len);
    s->serial = n;
    snprintf(s->ident, sizeof s->ident, CG_IDENT_ROOT "%s.%s.%04u%08u.001.%c",
             d->type_code[s->type], a->code, s->issued / 10000, n, check);
  }
  qsort(specs, nspecs, sizeof *specs, spec_cmp);
}

/* A certificate a client can expect to be served: valid, in date. */
static int usable(const struct demo *d, const spec_t *s) {
  return s->status == CG_CERT_VALID && s->issued <= d->today &&
         (s->expiring == 0 || s->expiring >= d->today);
}

/* Certificates only a platform has: `want` for each, all usable. Mostly new
 * holders; one try in three picks a holder the store knows, who may get a
 * type held nowhere else yet. A (holder, type) is held in one place only,
 * so the store and the two platforms never hold the same certificate and a
 * holder's full list is the union of what each place has. Holder slots
 * after d->nholders take the new holders; *nextra counts them. Draws on r
 * alone, so the store's data does not depend on it. */
static void plan_upstream(struct demo *d, rng_t *r, size_t want, size_t *nextra) {
  for (size_t i = 0; i < d->nspecs; i++)
    d->has_types[d->specs[i].holder] |= 1u << d->specs[i].type;
  for (int k = 0; k < 2; k++) {
    struct upstream *u = &d->up[k];
    /* plan_holder may overshoot by one holder's share before the filter. */
    u->specs = malloc((want + T__N) * sizeof *u->specs);
    while (u->nspecs < want) {
      size_t before = u->nspecs, kept = before;
      int known = d->nholders > 0 && chance(r, 333);
      uint32_t hi = known ? (uint32_t)below(r, (unsigned)d->nholders)
                          : (uint32_t)(d->nholders + *nextra);
      if (!known)
        make_holder(d, &d->holders[hi], chance(r, 140) ? HOLD_ORG : HOLD_CITIZEN, r);
      plan_holder(d, hi, r, u->specs, &u->nspecs, want);
      for (size_t i = before; i < u->nspecs; i++) {
        spec_t *s = &u->specs[i];
        if (!usable(d, s) || (d->has_types[hi] & (1u << s->type)))
          continue;
        d->has_types[hi] |= 1u << s->type;
        u->specs[kept++] = *s;
      }
      u->nspecs = kept;
      if (!known && kept > before)
        (*nextra)++;
    }
    make_identifiers(d, u->specs, u->nspecs);
  }
}

/* ---- certificate bodies --------------------------------------------------- */

static void add_str(cJSON *o, const char *k, const char *v) { cJSON_AddStringToObject(o, k, v); }

static void add_date(cJSON *o, const char *k, uint32_t ymd) {
  char s[16];
  ymd_str(ymd, s);
  cJSON_AddStringToObject(o, k, s);
}

static void digits(rng_t *r, char *out, int n) {
  for (int i = 0; i < n; i++)
    out[i] = (char)('0' + below(r, 10));
  out[n] = '\0';
}

static void some_name(rng_t *r, char *out) {
  size_t len = 0;
  pick_utf8(r, surnames, out, &len);
  pick_utf8(r, given, out, &len);
  if (chance(r, 500))
    pick_utf8(r, given, out, &len);
}

/* The certificate number (证照编号) and type-specific data of one certificate. */
static void fill_data(const struct demo *d, const spec_t *s, const holder_t *h, cJSON *o,
                      cJSON *data, rng_t *r) {
  const char *dname = districts[h->district].name, *dcode = districts[h->district].code;
  char num[96], buf[160], x[32];
  uint32_t y = s->issued / 10000;

  switch ((enum ctype_id)s->type) {
  case T_IDCARD:
    snprintf(num, sizeof num, "%s", h->code);
    add_str(data, "gender", h->female ? "女" : "男");
    add_str(data, "ethnicity", ethnicities[below(r, 10)]);
    add_date(data, "birthDate", h->birth);
    add_str(data, "address", h->address);
    break;
  case T_HUKOU:
    digits(r, x, 9);
    snprintf(num, sizeof num, "%s", x);
    add_str(data, "householdNumber", x);
    add_str(data, "householdType", "家庭户");
    add_str(data, "relationToHead", chance(r, 500) ? "户主" : h->female ? "妻" : "夫");
    add_str(data, "address", h->address);
    add_str(data, "registrationAuthority", d->agencies[s->agency].name);
    break;
  case T_DRIVING:
    snprintf(num, sizeof num, "%s", h->code);
    digits(r, x, 12);
    add_str(data, "fileNumber", x);
    add_str(data, "vehicleClass", (const char *[]){"C1", "C1", "C2", "B2", "A2", "C1E"}[below(r, 6)]);
    add_str(data, "gender", h->female ? "女" : "男");
    add_str(data, "nationality", "中国");
    add_str(data, "address", h->address);
    add_date(data, "birthDate", h->birth);
    add_date(data, "firstIssueDate", s->issued);
    break;
  case T_VEHICLE:
    snprintf(num, sizeof num, "鲁%c%c%04u", "ABCDEFGHJKL"[below(r, 11)],
             "ABCDEFGHJKLMNPQRSTUVWXYZ"[below(r, 24)], below(r, 10000));
    add_str(data, "plateNumber", num);
    add_str(data, "vehicleType", "小型普通客车");
    add_str(data, "useCharacter", "非营运");
    add_str(data, "model", (const char *[]){"大众牌FV7152", "丰田牌GTM7200", "比亚迪牌BYD7005BEV", "本田牌HG7151"}[below(r, 4)]);
    snprintf(x, sizeof x, "LFV%014llu", (unsigned long long)(rnd(r) % 100000000000000ULL));
    add_str(data, "vin", x);
    add_str(data, "address", h->address);
    add_date(data, "registerDate", s->issued);
    break;
  case T_MARRIAGE:
  case T_DIVORCE: {
    char spouse[32] = "", sid[19];
    some_name(r, spouse);
    make_citizen_id(dcode, ymd_from_days(days_of(h->birth) + (long)below(r, 1500) - 750),
                    below(r, 1000), !h->female, sid);
    snprintf(num, sizeof num, "%c%s-%u-%06u", s->type == T_MARRIAGE ? 'J' : 'L', dcode, y,
             below(r, 1000000));
    add_str(data, "spouseName", spouse);
    add_str(data, "spouseIdNumber", sid);
    add_date(data, "registrationDate", s->issued);
    snprintf(buf, sizeof buf, "济南市%s民政局", dname);
    add_str(data, "registrationAuthority", buf);
    break;
  }
  case T_PROPERTY:
  case T_ORG_PROPERTY:
    snprintf(num, sizeof num, "鲁(%u)济南市不动产权第%07u号", y, below(r, 10000000));
    add_str(data, "location", h->address);
    snprintf(x, sizeof x, "%u.%02u平方米", 40 + below(r, 160), below(r, 100));
    add_str(data, "area", x);
    add_str(data, "use", s->type == T_PROPERTY ? "城镇住宅用地/住宅" : "商务金融用地/办公");
    add_str(data, "rightType", "国有建设用地使用权/房屋所有权");
    add_str(data, "shareType", chance(r, 400) ? "共同共有" : "单独所有");
    snprintf(buf, sizeof buf, "%s%03u%s%08u", dcode, below(r, 1000), "GB", below(r, 100000000));
    add_str(data, "unitNumber", buf);
    break;
  case T_DEGREE:
    digits(r, num, 16);
    add_str(data, "degree", chance(r, 800) ? "学士" : "硕士");
    add_str(data, "major", majors[below(r, 10)]);
    add_str(data, "university", d->agencies[s->agency].name);
    add_date(data, "conferDate", s->issued);
    break;
  case T_DIPLOMA:
    digits(r, num, 18);
    add_str(data, "educationLevel", chance(r, 700) ? "本科" : "专科");
    add_str(data, "major", majors[below(r, 10)]);
    add_str(data, "school", d->agencies[s->agency].name);
    add_date(data, "graduationDate", s->issued);
    break;
  case T_SOCIAL:
    snprintf(num, sizeof num, "%s", h->code);
    snprintf(x, sizeof x, "%c%08u", "ABCDEFGH"[below(r, 8)], below(r, 100000000));
    add_str(data, "cardNumber", x);
    add_str(data, "bank", (const char *[]){"中国工商银行", "中国农业银行", "中国建设银行", "济南农商银行"}[below(r, 4)]);
    add_str(data, "issuingCity", "济南市");
    break;
  case T_BIRTH: {
    char mother[32] = "", father[32] = "";
    snprintf(num, sizeof num, "Q37%07u", below(r, 10000000));
    some_name(r, mother);
    some_name(r, father);
    add_str(data, "gender", h->female ? "女" : "男");
    add_date(data, "birthDate", h->birth);
    add_str(data, "birthPlace", d->agencies[s->agency].name);
    add_str(data, "motherName", mother);
    add_str(data, "fatherName", father);
    break;
  }
  case T_TEACHER:
    snprintf(num, sizeof num, "%u370%010u", y, below(r, 1000000000));
    add_str(data, "qualification", (const char *[]){"小学教师资格", "初级中学教师资格", "高级中学教师资格"}[below(r, 3)]);
    add_str(data, "subject", (const char *[]){"语文", "数学", "英语", "物理", "历史"}[below(r, 5)]);
    break;
  case T_NURSE:
    snprintf(num, sizeof num, "%u37%06u", y, below(r, 1000000));
    add_str(data, "practiceLocation", hospitals[below(r, 5)]);
    break;
  case T_DOCTOR:
    snprintf(num, sizeof num, "1103701%08u", below(r, 100000000));
    add_str(data, "physicianLevel", "执业医师");
    add_str(data, "category", "临床");
    add_str(data, "practiceScope", (const char *[]){"内科专业", "外科专业", "儿科专业", "妇产科专业"}[below(r, 4)]);
    add_str(data, "practiceLocation", hospitals[below(r, 5)]);
    break;
  case T_DISABLED:
    snprintf(num, sizeof num, "%s%u%u", h->code, 1 + below(r, 7), 1 + below(r, 4));
    add_str(data, "disabilityCategory", (const char *[]){"视力", "听力", "言语", "肢体", "智力", "精神", "多重"}[below(r, 7)]);
    add_str(data, "disabilityLevel", (const char *[]){"一级", "二级", "三级", "四级"}[below(r, 4)]);
    add_str(data, "address", h->address);
    add_str(data, "phone", h->phone);
    break;
  case T_RESIDENCE:
    snprintf(num, sizeof num, "%s", h->code);
    add_str(data, "address", h->address);
    add_str(data, "registeredPlace", elsewhere[h->from < 0 ? 0 : h->from].place);
    add_str(data, "phone", h->phone);
    break;
  case T_VETERAN:
    snprintf(num, sizeof num, "37%014llu", (unsigned long long)(rnd(r) % 100000000000000ULL));
    add_str(data, "address", h->address);
    break;
  case T_GUIDE:
    snprintf(num, sizeof num, "D-3701-%06u", below(r, 1000000));
    add_str(data, "language", chance(r, 800) ? "普通话" : "英语");
    add_str(data, "level", "初级");
    add_str(data, "phone", h->phone);
    break;
  case T_SPECIAL:
    snprintf(num, sizeof num, "%s", h->code);
    add_str(data, "category", (const char *[]){"N1 叉车司机", "Q2 起重机司机", "G1 工业锅炉司炉", "R1 快开门式压力容器操作"}[below(r, 4)]);
    add_str(data, "employer", "济南" "泉润机械制造有限公司");
    break;
  case T_BUSINESS:
    snprintf(num, sizeof num, "%s", h->code);
    add_str(data, "companyType", "有限责任公司(自然人投资或控股)");
    add_str(data, "legalRepresentative", h->rep);
    snprintf(x, sizeof x, "%u万元人民币", 10 * (1 + below(r, 500)));
    add_str(data, "registeredCapital", x);
    add_date(data, "establishedDate", h->birth);
    add_str(data, "address", h->address);
    add_str(data, "businessScope", "一般项目：技术服务、技术开发、技术咨询；销售代理。");
    add_str(data, "phone", h->phone);
    break;
  case T_FOOD:
    snprintf(num, sizeof num, "JY1%s%07u", dcode, below(r, 10000000));
    add_str(data, "operator", h->name);
    add_str(data, "legalRepresentative", h->rep);
    add_str(data, "address", h->address);
    add_str(data, "mainBusiness", chance(r, 500) ? "餐饮服务经营者" : "食品销售经营者");
    add_str(data, "businessItems", "热食类食品制售；预包装食品（含冷藏冷冻食品）销售");
    break;
  case T_ROAD:
    snprintf(num, sizeof num, "鲁交运管许可济字%s%06u号", dcode, below(r, 1000000));
    add_str(data, "businessScope", "道路普通货物运输");
    add_str(data, "address", h->address);
    break;
  case T_BUILDER:
    snprintf(num, sizeof num, "D3370%05u", below(r, 100000));
    add_str(data, "qualification", (const char *[]){"建筑工程施工总承包二级", "市政公用工程施工总承包三级", "建筑装修装饰工程专业承包二级"}[below(r, 3)]);
    add_str(data, "legalRepresentative", h->rep);
    break;
  case T_SAFETY:
    snprintf(num, sizeof num, "(鲁)JZ安许证字[%u]01%04u", y, below(r, 10000));
    add_str(data, "scope", "建筑施工");
    add_str(data, "legalRepresentative", h->rep);
    break;
  case T_DRUG:
    snprintf(num, sizeof num, "鲁AA531%04u", below(r, 10000));
    add_str(data, "businessMode", "零售");
    add_str(data, "scope", "中药饮片、中成药、化学药制剂、抗生素制剂、生化药品、生物制品");
    {
      char ph[32] = "";
      some_name(r, ph);
      add_str(data, "pharmacist", ph);
    }
    add_str(data, "address", h->address);
    break;
  case T__N:
    num[0] = '\0';
    break;
  }
  add_str(o, "certificateNumber", num);
}

static cJSON *make_cert(const struct demo *d, const spec_t *s) {
  const holder_t *h = &d->holders[s->holder];
  const agency_t *a = &d->agencies[s->agency];
  const struct ctype *ct = &ctypes[s->type];
  rng_t r = {h->seed ^ ((uint64_t)s->type << 56) ^ s->serial};
  cJSON *o = cJSON_CreateObject(), *data;

  add_str(o, "certificateIdentifier", s->ident);
  add_str(o, "certificateName", ct->name);
  add_str(o, "certificateTypeName", ct->name);
  add_str(o, "certificateTypeCode", d->type_code[s->type]);
  add_str(o, "certificateDefineAuthorityName", bodies[ct->body].name);
  add_str(o, "certificateDefineAuthorityCode", d->body_code[ct->body]);
  add_str(o, "certificateHolderName", h->name);
  add_str(o, "certificateHolderCode", h->code);
  add_str(o, "certificateHolderTypeCode", h->type == HOLD_CITIZEN ? "111" : "001");
  add_str(o, "certificateHolderTypeName", h->type == HOLD_CITIZEN ? "公民身份号码" : "统一社会信用代码");
  add_str(o, "certificateIssuingAuthorityName", a->name);
  add_str(o, "certificateIssuingAuthorityCode", a->code);
  add_date(o, "certificateIssuedDate", s->issued);
  add_date(o, "certificateEffectiveDate", s->issued);
  if (s->expiring)
    add_date(o, "certificateExpiringDate", s->expiring);
  add_str(o, "certificateAreaCode", a->area[2] == '0' && a->area[3] == '0' ? "370100" : a->area);
  add_str(o, "status", cg_cert_status_name(s->status));
  data = cJSON_AddObjectToObject(o, "data");
  fill_data(d, s, h, o, data, &r);
  return o;
}

/* ---- sealing on every core ------------------------------------------------ */

#define BATCH 512

struct sealer {
  struct demo *d;
  const spec_t *specs;
  cg_signer_t **signers; /* this thread's copies, one per agency */
  size_t from, to;
  cg_buf_t out;
  int err;
  cg_why_t why;
};

static void *seal_range(void *arg) {
  struct sealer *w = arg;
  cg_buf_t body;
  cg_cert_meta_t meta;
  cg_seal_t seal;

  cg_buf_init(&body, CG_CERT_BODY_MAX);
  cg_buf_reset(&w->out);
  for (size_t i = w->from; i < w->to && !w->err; i++) {
    const spec_t *s = &w->specs[i];
    cJSON *o = make_cert(w->d, s);
    cg_buf_reset(&body);
    /* Through the same checks as an import: a demo that could not be
     * imported would be a bug here, not a bad line there. */
    w->err = cg_cert_from_json(o, &body, &meta, NULL, &w->why);
    cJSON_Delete(o);
    if (w->err)
      break;
    if ((w->err = cg_seal_sign(w->signers[s->agency], body.base, body.len, &seal)) != 0) {
      cg_why_set(&w->why, w->err, "cannot seal %s", s->ident);
      break;
    }
    if ((w->err = cg_buf_append(&w->out, body.base, body.len - 1)) != 0 ||
        (w->err = cg_buf_append(&w->out, ",\"seal\":", 8)) != 0 ||
        (w->err = cg_cert_seal_json(&seal, &w->out)) != 0 ||
        (w->err = cg_buf_append(&w->out, "}\n", 2)) != 0)
      break;
  }
  cg_buf_free(&body);
  return NULL;
}

/* Seals specs[0..nspecs) and writes them to out, one JSON line each in the
 * order of specs (the form `certctl export` writes). */
static int seal_all(struct demo *d, const spec_t *specs, size_t nspecs, FILE *out) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  int nth = n < 1 ? 1 : n > 16 ? 16 : (int)n, err = 0;
  struct sealer w[16];
  ctl_progress_t prog;

  memset(w, 0, sizeof w);
  for (int t = 0; t < nth; t++) {
    w[t].d = d;
    w[t].specs = specs;
    w[t].signers = calloc((size_t)d->nagencies, sizeof *w[t].signers);
    cg_buf_init(&w[t].out, (size_t)BATCH * CG_CERT_LINE_MAX);
    /* A signer serves one thread at a time: each thread loads its own. */
    for (int a = 0; a < d->nagencies && !err; a++)
      err = cg_signer_load(&w[t].signers[a], d->agencies[a].cert_pem, d->agencies[a].key_pem);
  }
  ctl_progress_init(&prog, "seal  ");
  for (size_t base = 0; base < nspecs && !err; base += (size_t)nth * BATCH) {
    pthread_t th[16];
    for (int t = 0; t < nth; t++) {
      w[t].from = base + (size_t)t * BATCH;
      w[t].to = w[t].from + BATCH;
      if (w[t].from > nspecs)
        w[t].from = nspecs;
      if (w[t].to > nspecs)
        w[t].to = nspecs;
      pthread_create(&th[t], NULL, seal_range, &w[t]);
    }
    for (int t = 0; t < nth; t++)
      pthread_join(th[t], NULL);
    for (int t = 0; t < nth && !err; t++) {
      if (w[t].err) {
        fprintf(stderr, "certctl: demo: %s\n", w[t].why.text);
        err = w[t].err;
      } else if (w[t].out.len > 0 && fwrite(w[t].out.base, 1, w[t].out.len, out) != w[t].out.len) {
        err = CG_EIO;
      }
    }
    ctl_progress_update(&prog, w[nth - 1].to, nspecs, w[nth - 1].to);
  }
  ctl_progress_done(&prog);
  for (int t = 0; t < nth; t++) {
    for (int a = 0; a < d->nagencies; a++)
      cg_signer_free(w[t].signers[a]);
    free(w[t].signers);
    cg_buf_free(&w[t].out);
  }
  return err;
}

/* ---- files ------------------------------------------------------------------ */

static int write_file(const char *dir, const char *name, const char *text, mode_t mode) {
  char path[4096];
  FILE *f = NULL;
  int fd;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  /* With its mode from the start (a key file is never readable by others,
   * not even while it is written); chmod for a file that was there. */
  if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)) < 0 ||
      fchmod(fd, mode) != 0 || (f = fdopen(fd, "w")) == NULL) {
    fprintf(stderr, "certctl: %s: %s\n", path, strerror(errno));
    if (fd >= 0)
      close(fd);
    return CG_EIO;
  }
  fputs(text, f);
  if (fclose(f) != 0) {
    fprintf(stderr, "certctl: %s: %s\n", path, strerror(errno));
    return CG_EIO;
  }
  return 0;
}

/* mkdir -p of dir/sub: the deployment directory may be several levels new. */
static int mkdirs(const char *dir, const char *sub) {
  char path[4096];
  snprintf(path, sizeof path, "%s%s%s", dir, sub[0] ? "/" : "", sub);
  for (char *p = path + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(path, 0750) != 0 && errno != EEXIST) {
      fprintf(stderr, "certctl: %s: %s\n", path, strerror(errno));
      return CG_EIO;
    }
    *p = '/';
  }
  if (mkdir(path, 0750) != 0 && errno != EEXIST) {
    fprintf(stderr, "certctl: %s: %s\n", path, strerror(errno));
    return CG_EIO;
  }
  return 0;
}

/* The seal CA and every agency's seal key and certificate. Private keys go
 * to DIR/keys (a real deployment never holds them: demo only). */
static int make_keys(struct demo *d) {
  time_t now = time(NULL);
  cg_signer_spec_t spec = {
      .alg = CG_SEAL_ES256,
      .subject = "CN=certgw demo seal CA,O=certgw demo,C=CN",
      .not_before = now - 15L * 366 * 86400,
      .not_after = now + 20L * 366 * 86400,
      .serial = 1,
      .is_ca = 1,
  };
  char *pem = malloc(8192), subject[512], name[64];
  int err;

  if ((err = cg_signer_generate(&d->ca, &spec, NULL)) != 0)
    goto done;
  if ((err = cg_signer_cert_pem(d->ca, pem, 8192)) != 0 ||
      (err = write_file(d->dir, "trust/anchors/demo-seal-ca.pem", pem, 0644)) != 0 ||
      (err = cg_signer_key_pem(d->ca, pem, 8192)) != 0 ||
      (err = write_file(d->dir, "keys/demo-seal-ca.key.pem", pem, 0600)) != 0)
    goto done;
  for (int i = 0; i < d->nagencies; i++) {
    agency_t *a = &d->agencies[i];
    cg_signer_spec_t as = {
        .alg = a->alg,
        .subject = subject,
        /* Valid on every issue date the demo uses (up to 12 years back). */
        .not_before = now - 13L * 366 * 86400,
        .not_after = now + 10L * 366 * 86400,
        .serial = 100 + (uint64_t)i,
        .is_ca = 0,
    };
    snprintf(subject, sizeof subject, "CN=%s电子印章,O=%s,serialNumber=%s,C=CN", a->name,
             a->name, a->code);
    if ((err = cg_signer_generate(&a->signer, &as, d->ca)) != 0 ||
        (err = cg_signer_cert_pem(a->signer, a->cert_pem, sizeof a->cert_pem)) != 0 ||
        (err = cg_signer_key_pem(a->signer, a->key_pem, sizeof a->key_pem)) != 0)
      goto done;
    snprintf(name, sizeof name, "trust/signers/%s.pem", a->code);
    if ((err = write_file(d->dir, name, a->cert_pem, 0644)) != 0)
      goto done;
    snprintf(name, sizeof name, "keys/%s.key.pem", a->code);
    if ((err = write_file(d->dir, name, a->key_pem, 0600)) != 0)
      goto done;
  }
done:
  if (err)
    fprintf(stderr, "certctl: demo: cannot make seal keys: %s\n", cg_strerror(err));
  free(pem);
  return err;
}

/* QR key ring: AES-128 keys with ids; the newest mints, all open
 * (docs/deployment.md). */
static int make_keyring(struct demo *d) {
  cg_venue_t scratch;
  char k1[CG_VENUE_KEY_LEN + 1], k2[CG_VENUE_KEY_LEN + 1], text[512];
  /* Venue keys are 24 random bytes in hex; 16 of them make an AES-128 key. */
  if (cg_venue_key_new(&scratch, k1) != 0 || cg_venue_key_new(&scratch, k2) != 0)
    return CG_ECRYPTO;
  snprintf(text, sizeof text,
           "# certgw QR key ring: one key a line, \"KID HEX-AES-128-KEY [mint]\".\n"
           "# Every key opens codes; the one marked mint seals new ones.\n"
           "1 %.32s\n"
           "2 %.32s mint\n",
           k1 + 4, k2 + 4);
  return write_file(d->dir, "keyring", text, 0600);
}

/* Two ports nothing listens on now, bound together on 127.0.0.1 so that
 * they differ, and neither certgw's. Something else may take one before
 * the simulators start; --upstream-ports is for when that matters. */
static int free_ports(unsigned avoid, unsigned out[2]) {
  int fds[4] = {-1, -1, -1, -1}, got = 0, err = 0;

  for (int i = 0; i < 4 && got < 2; i++) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if ((fds[i] = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
        bind(fds[i], (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fds[i], (struct sockaddr *)&a, &len) != 0) {
      fprintf(stderr, "certctl: demo: cannot find a free port: %s\n", strerror(errno));
      err = CG_EIO;
      break;
    }
    if (ntohs(a.sin_port) != avoid)
      out[got++] = ntohs(a.sin_port);
  }
  for (int i = 0; i < 4; i++)
    if (fds[i] >= 0)
      close(fds[i]);
  return err ? err : got == 2 ? 0 : CG_EIO;
}

static int random_hex(char *out, size_t bytes) {
  uint8_t b[32];
  if (bytes > sizeof b || getrandom(b, bytes, 0) != (ssize_t)bytes)
    return CG_ECRYPTO;
  for (size_t i = 0; i < bytes; i++)
    snprintf(out + 2 * i, 3, "%02x", b[i]);
  return 0;
}

/* Each platform's port and the access id and token it gives certgw. */
static int make_upstream_access(struct demo *d) {
  unsigned ports[2];
  int err;

  if (d->up[0].port == 0) {
    if ((err = free_ports(d->port, ports)) != 0)
      return err;
    d->up[0].port = ports[0];
    d->up[1].port = ports[1];
  }
  for (int k = 0; k < 2; k++)
    if ((err = random_hex(d->up[k].access_id, 8)) != 0 ||
        (err = random_hex(d->up[k].token, 24)) != 0) {
      fprintf(stderr, "certctl: demo: no random bytes for the upstream tokens\n");
      return err;
    }
  return 0;
}

static const int hotel_types[] = {T_IDCARD, T_RESIDENCE, T_DRIVING};

static int make_config(struct demo *d) {
  char *text = malloc(16384);
  size_t n = 0;
  int err;

#define OUT(...) n += (size_t)snprintf(text + n, 16384 - n, __VA_ARGS__)
  OUT("# certgw demo deployment, written by `certctl demo`.\n"
      "# Every key is explained in conf/certgw.conf of the source tree.\n\n"
      "[server]\nlisten = 127.0.0.1:%u\nworkers = 0\n\n"
      "[store]\npath = data\nmap_size = 64G\nmax_readers = 1024\n\n"
      "[seal]\ntrust_dir = trust\n\n"
      "[token]\nkeyring = keyring\nmax_ttl = 300\n\n",
      d->port);
  OUT("# A hotel checks a guest's identity by scanning the code the guest shows:\n"
      "# identity documents only, personal data masked, no fetching by identifier.\n"
      "[scope hotel]\ntypes = ");
  for (size_t i = 0; i < sizeof hotel_types / sizeof *hotel_types; i++)
    OUT("%s%s", i ? ",\n    " : "", d->type_code[hotel_types[i]]);
  OUT("\nfields = certificateIdentifier, certificateName, certificateTypeCode,\n"
      "    certificateHolderName, certificateHolderCode, certificateHolderTypeCode,\n"
      "    certificateIssuingAuthorityName, certificateEffectiveDate,\n"
      "    certificateExpiringDate, status\n"
      "mask = certificateHolderName,certificateHolderCode\n"
      "scan = yes\nfetch = no\nlist = no\nverify = no\n\n");
  OUT("# A government department sees certificates in full and may fetch them.\n"
      "[scope department]\ntypes = *\nfields = *\n"
      "scan = yes\nfetch = yes\nlist = yes\nverify = yes\n\n");
  OUT("# What is not in the store is asked of the city platform, then of the\n"
      "# province (docs/upstream.md). tools/demo runs a certgw-upstream-sim for\n"
      "# each; demo.json has their command lines.\n"
      "[upstream]\npurpose = 无证明城市证照核验\ndeadline = 3000\nnegative_ttl = 30000\n"
      "refresh = 86400\nretry_budget = 20\nbreaker_failures = 5\nbreaker_open = 5000\n"
      "eject = 10000\nfeed_interval = 5000\npool = 8\n");
  for (int k = 0; k < 2; k++)
    OUT("\n[upstream %s]\nurl = http://127.0.0.1:%u\naccess_id = %s\ntoken = %s\n"
        "connect_timeout = 500\ntimeout = 1500\nfeed = yes\n",
        d->up[k].name, d->up[k].port, d->up[k].access_id, d->up[k].token);
#undef OUT
  err = write_file(d->dir, "certgw.conf", text, 0644);
  free(text);
  return err;
}

static int put_signers_and_venues(struct demo *d, cg_store_t *s, cJSON *venues) {
  static const struct {
    const char *id, *name, *scope, *reg, *org8, *area;
  } vs[] = {
      {"jn-hotel-quancheng", "济南泉城大酒店", "hotel", "91", "MA3C7T2K", "370102"},
      {"jn-dept-zwfw", "济南市政务服务中心", "department", "11", "00430215", "370100"},
  };
  cg_store_writer_t *w;
  cg_buf_t buf;
  int err;

  if ((err = cg_store_write_begin(s, 0, &w)) != 0)
    return err;
  cg_buf_init(&buf, 1 << 16);
  for (int i = 0; i < d->nagencies && !err; i++) {
    size_t len;
    const uint8_t *der = cg_signer_der(d->agencies[i].signer, &len);
    err = cg_store_put(w, CG_DB_SIGNER, cg_signer_fingerprint(d->agencies[i].signer),
                       CG_SEAL_FPR_LEN, der, len);
  }
  for (size_t i = 0; i < sizeof vs / sizeof *vs && !err; i++) {
    cg_venue_t v = {0};
    char key[CG_VENUE_KEY_LEN + 1];
    cJSON *one;
    snprintf(v.id, sizeof v.id, "%s", vs[i].id);
    snprintf(v.name, sizeof v.name, "%s", vs[i].name);
    snprintf(v.scope, sizeof v.scope, "%s", vs[i].scope);
    make_uscc(vs[i].reg, vs[i].area, vs[i].org8, v.credit_code);
    v.created = (uint64_t)time(NULL);
    if ((err = cg_venue_key_new(&v, key)) != 0)
      break;
    cg_buf_reset(&buf);
    if ((err = cg_venue_encode(&v, &buf)) != 0 ||
        (err = cg_store_put(w, CG_DB_VENUE, v.id, strlen(v.id), buf.base, buf.len)) != 0)
      break;
    one = cJSON_CreateObject();
    add_str(one, "id", v.id);
    add_str(one, "key", key);
    add_str(one, "scope", v.scope);
    add_str(one, "name", v.name);
    cJSON_AddItemToArray(venues, one);
  }
  cg_buf_free(&buf);
  if (err) {
    cg_store_write_abort(w);
    return err;
  }
  return cg_store_write_commit(w);
}

/* demo.json's "upstream": per platform its address, the simulator's command
 * line (absolute paths, so it runs from any directory) and sample
 * identifiers only it has. The simulator is the binary beside certctl. */
static int add_upstream_json(const struct demo *d, cJSON *o) {
  char bin[PATH_MAX], dir[PATH_MAX], buf[PATH_MAX + 64], *slash;
  ssize_t n = readlink("/proc/self/exe", bin, sizeof bin - 1);
  cJSON *up = cJSON_AddObjectToObject(o, "upstream");

  if (n <= 0 || realpath(d->dir, dir) == NULL) {
    fprintf(stderr, "certctl: demo: cannot resolve %s: %s\n", n <= 0 ? "/proc/self/exe" : d->dir,
            strerror(errno));
    return CG_EIO;
  }
  bin[n] = '\0';
  if ((slash = strrchr(bin, '/')) != NULL)
    *slash = '\0';
  for (int k = 0; k < 2; k++) {
    const struct upstream *u = &d->up[k];
    cJSON *one = cJSON_AddObjectToObject(up, u->name), *argv, *certs;
    char listen[32];

    snprintf(listen, sizeof listen, "127.0.0.1:%u", u->port);
    add_str(one, "listen", listen);
    argv = cJSON_AddArrayToObject(one, "command");
    snprintf(buf, sizeof buf, "%s/certgw-upstream-sim", bin);
    cJSON_AddItemToArray(argv, cJSON_CreateString(buf));
    snprintf(buf, sizeof buf, "%s/upstream/%s.jsonl", dir, u->name);
    const char *args[] = {"--name", u->name, "--listen", listen, "--data", buf,
                          "--access-id", u->access_id, "--token", u->token};
    for (size_t i = 0; i < sizeof args / sizeof *args; i++)
      cJSON_AddItemToArray(argv, cJSON_CreateString(args[i]));
    certs = cJSON_AddArrayToObject(one, "certificates");
    /* Every one is usable (plan_upstream kept no other): spread the sample. */
    size_t step = u->nspecs / 100 > 1 ? u->nspecs / 100 : 1;
    for (size_t i = 0, nc = 0; i < u->nspecs && nc < 100; i += step, nc++)
      cJSON_AddItemToArray(certs, cJSON_CreateString(u->specs[i].ident));
  }
  return 0;
}

static int write_demo_json(struct demo *d, cJSON *venues) {
  cJSON *o = cJSON_CreateObject(), *certs, *holders;
  char buf[4096], *text;
  size_t *first, nh = 0;
  int err;

  snprintf(buf, sizeof buf, "127.0.0.1:%u", d->port);
  add_str(o, "listen", buf);
  snprintf(buf, sizeof buf, "%s/certgw.conf", d->dir);
  add_str(o, "config", buf);
  cJSON_AddItemToObject(o, "venues", venues);
  certs = cJSON_AddArrayToObject(o, "certificates");
  holders = cJSON_AddArrayToObject(o, "holders");

  /* Spread the sample over the whole store rather than its first types. */
  size_t step = d->nspecs / 100 > 1 ? d->nspecs / 100 : 1, nc = 0, next = 0;
  for (size_t i = 0; i < d->nspecs && nc < 100; i += step) {
    size_t j = i < next ? next : i;
    while (j < d->nspecs && !usable(d, &d->specs[j]))
      j++;
    if (j < d->nspecs) {
      cJSON_AddItemToArray(certs, cJSON_CreateString(d->specs[j].ident));
      nc++;
      next = j + 1; /* each listed once */
    }
  }
  /* Holders, with every usable certificate of theirs. */
  first = malloc(d->nholders * sizeof *first);
  for (size_t h = 0; h < d->nholders; h++)
    first[h] = SIZE_MAX;
  for (size_t i = 0; i < d->nspecs; i++)
    if (usable(d, &d->specs[i]) && first[d->specs[i].holder] == SIZE_MAX)
      first[d->specs[i].holder] = i;
  size_t hstep = d->nholders / 100 > 1 ? d->nholders / 100 : 1;
  for (size_t h = 0; h < d->nholders && nh < 100; h += hstep) {
    if (first[h] == SIZE_MAX)
      continue;
    cJSON *one = cJSON_CreateObject(), *list;
    add_str(one, "code", d->holders[h].code);
    add_str(one, "type", d->holders[h].type == HOLD_CITIZEN ? "111" : "001");
    list = cJSON_AddArrayToObject(one, "certificates");
    for (size_t i = first[h]; i < d->nspecs; i++)
      if (d->specs[i].holder == h && usable(d, &d->specs[i]))
        cJSON_AddItemToArray(list, cJSON_CreateString(d->specs[i].ident));
    cJSON_AddItemToArray(holders, one);
    nh++;
  }
  free(first);
  if ((err = add_upstream_json(d, o)) != 0) {
    cJSON_Delete(o);
    return err;
  }
  text = cJSON_Print(o);
  cJSON_Delete(o);
  err = write_file(d->dir, "demo.json", text, 0600);
  free(text);
  return err;
}

static void import_progress(void *arg, uint64_t done, uint64_t total, uint64_t records) {
  ctl_progress_update(arg, done, total, records);
}

static int remove_tree(const char *dir, const char *sub) {
  char cmd[8400];
  /* Only paths this command creates, under a directory the caller named. */
  snprintf(cmd, sizeof cmd, "rm -rf -- '%s/%s'", dir, sub);
  return strchr(dir, '\'') ? -1 : system(cmd);
}

int ctl_demo(int argc, char **argv) {
  static const char usage[] =
      "usage: certctl demo DIR [--count N] [--port P] [--seed S] [--keep-source] [--force]\n"
      "                        [--no-verify] [--upstream-ports P1,P2]\n"
      "\n"
      "Creates a self-contained deployment in DIR: a demo seal CA and agency seal\n"
      "keys (ECDSA P-256 and RSA-2048), the trust store, a QR key ring, venues,\n"
      "DIR/certgw.conf, and a store of N sealed synthetic certificates\n"
      "(default 10000) of 26 types. DIR/demo.json lists the venues' keys and\n"
      "sample identifiers and holders. --port sets the listen port (default\n"
      "8080); --seed makes the data (not the keys) repeatable; --keep-source\n"
      "keeps DIR/certificates.jsonl; --force replaces an existing deployment;\n"
      "--no-verify stores the seals unchecked instead of verifying them (faster\n"
      "for very large stores; certgw never serves an unchecked seal as verified).\n"
      "\n"
      "It also writes what tests of the upstream platforms need: DIR/upstream/\n"
      "city.jsonl and province.jsonl, max(50, N/20) sealed certificates each that\n"
      "only that platform has; DIR/upstream/tls/ (ca.pem, server.pem and\n"
      "server.key for platform.test and 127.0.0.1, other-ca.pem); [upstream]\n"
      "sections in certgw.conf, and in demo.json the certgw-upstream-sim command\n"
      "line of each platform. Their ports are free ones on 127.0.0.1 unless\n"
      "--upstream-ports names them.\n";
  static const struct option opts[] = {
      {"count", required_argument, NULL, 'n'}, {"port", required_argument, NULL, 'p'},
      {"seed", required_argument, NULL, 's'},  {"keep-source", no_argument, NULL, 'k'},
      {"force", no_argument, NULL, 'f'},       {"help", no_argument, NULL, 'h'},
      {"no-verify", no_argument, NULL, 'V'},   {"upstream-ports", required_argument, NULL, 'u'},
      {NULL, 0, NULL, 0},
  };
  struct demo d = {.count = 10000, .port = 8080, .seed = 1, .verify = 1,
                   .up = {{.name = "city"}, {.name = "province"}}};
  cg_store_opts_t so = {0};
  cg_import_result_t res;
  cg_import_opts_t io = {0};
  ctl_progress_t prog;
  cg_store_t *store = NULL;
  cJSON *venues = NULL;
  cg_trust_t *trust = NULL;
  char path[4096], src[4096];
  cg_why_t why = {""};
  FILE *f;
  rng_t r, ur;
  size_t want, nextra = 0;
  int c, err = 1;
  time_t now = time(NULL);
  double t0 = ctl_now();

  optind = 1;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    char *end;
    switch (c) {
    case 'n': d.count = (unsigned)strtoul(optarg, &end, 10); if (*end || !d.count) goto bad; break;
    case 'p': d.port = (unsigned)strtoul(optarg, &end, 10); if (*end || !d.port || d.port > 65535) goto bad; break;
    case 's': d.seed = strtoull(optarg, &end, 10); if (*end) goto bad; break;
    case 'k': d.keep_source = 1; break;
    case 'f': d.force = 1; break;
    case 'V': d.verify = 0; break;
    case 'u':
      d.up[0].port = (unsigned)strtoul(optarg, &end, 10);
      if (*end != ',' || !d.up[0].port || d.up[0].port > 65535) goto bad;
      d.up[1].port = (unsigned)strtoul(end + 1, &end, 10);
      if (*end || !d.up[1].port || d.up[1].port > 65535) goto bad;
      break;
    case 'h': fputs(usage, stdout); return 0;
    default: goto bad;
    }
  }
  if (optind != argc - 1)
    goto bad;
  if (d.up[0].port && (d.up[0].port == d.up[1].port || d.up[0].port == d.port ||
                       d.up[1].port == d.port)) {
    fprintf(stderr, "certctl: demo: certgw and the two platforms need three different ports\n");
    goto bad;
  }
  d.dir = argv[optind];

  snprintf(path, sizeof path, "%s/demo.json", d.dir);
  if (access(path, F_OK) == 0) {
    if (!d.force) {
      fprintf(stderr, "certctl: %s already holds a deployment (use --force to replace it)\n", d.dir);
      return 1;
    }
    for (const char *sub = "data\0trust\0keys\0upstream\0"; *sub; sub += strlen(sub) + 1)
      remove_tree(d.dir, sub);
  }
  if (mkdirs(d.dir, "") || mkdirs(d.dir, "trust") || mkdirs(d.dir, "trust/anchors") ||
      mkdirs(d.dir, "trust/signers") || mkdirs(d.dir, "trust/crl") || mkdirs(d.dir, "keys") ||
      mkdirs(d.dir, "upstream/tls"))
    return 1;

  d.today = cg_record_today(now);
  d.today_days = days_of(d.today);
  r.s = d.seed;

  for (int b = 0; b < B__N; b++)
    make_uscc("11", "100000", bodies[b].org8, d.body_code[b]);
  for (int t = 0; t < T__N; t++)
    snprintf(d.type_code[t], sizeof d.type_code[t], "%s%s", d.body_code[ctypes[t].body],
             ctypes[t].seq);
  make_agencies(&d, &r);

  /* Holders until there are enough certificates: about one in seven is an
   * organisation, the rest citizens. */
  want = d.count / 20 > 50 ? d.count / 20 : 50;
  d.specs = malloc((size_t)d.count * sizeof *d.specs);
  /* The store's holders, each platform's new ones, a slot to try one in. */
  d.holders = malloc(((size_t)d.count + 2 * want + 2) * sizeof *d.holders);
  d.has_types = calloc((size_t)d.count + 2 * want + 2, sizeof *d.has_types);
  d.counter = calloc((size_t)T__N * (size_t)d.nagencies, sizeof *d.counter);
  while (d.nspecs < d.count) {
    size_t before = d.nspecs;
    make_holder(&d, &d.holders[d.nholders], chance(&r, 140) ? HOLD_ORG : HOLD_CITIZEN, &r);
    plan_holder(&d, (uint32_t)d.nholders, &r, d.specs, &d.nspecs, d.count);
    if (d.nspecs > before)
      d.nholders++;
  }
  make_identifiers(&d, d.specs, d.nspecs);
  /* A stream of its own, so the store's data is what the same seed made
   * before the platforms' data existed. */
  ur.s = d.seed ^ 0x7570737472656d00ULL;
  plan_upstream(&d, &ur, want, &nextra);

  fprintf(stderr, "demo: %zu agencies, %zu holders, %zu certificates of %d types; "
          "upstream: %zu and %zu certificates, %zu more holders\n",
          (size_t)d.nagencies, d.nholders, d.nspecs, T__N, d.up[0].nspecs, d.up[1].nspecs,
          nextra);
  if (make_upstream_access(&d) || make_keys(&d) || make_keyring(&d) || make_config(&d) ||
      ctl_demo_tls(d.dir))
    goto done;

  snprintf(src, sizeof src, "%s/certificates.jsonl", d.dir);
  if ((f = fopen(src, "w")) == NULL) {
    fprintf(stderr, "certctl: %s: %s\n", src, strerror(errno));
    goto done;
  }
  err = seal_all(&d, d.specs, d.nspecs, f);
  if (fclose(f) != 0 && !err)
    err = CG_EIO;
  if (err)
    goto done;
  for (int k = 0; k < 2; k++) {
    snprintf(path, sizeof path, "%s/upstream/%s.jsonl", d.dir, d.up[k].name);
    if ((f = fopen(path, "w")) == NULL) {
      fprintf(stderr, "certctl: %s: %s\n", path, strerror(errno));
      err = CG_EIO;
      goto done;
    }
    err = seal_all(&d, d.up[k].specs, d.up[k].nspecs, f);
    if (fclose(f) != 0 && !err)
      err = CG_EIO;
    if (err)
      goto done;
  }

  snprintf(path, sizeof path, "%s/data", d.dir);
  so.path = path;
  if ((err = cg_store_open(&store, &so, &why)) != 0) {
    fprintf(stderr, "certctl: %s\n", why.text);
    goto done;
  }
  venues = cJSON_CreateArray();
  if ((err = put_signers_and_venues(&d, store, venues)) != 0) {
    fprintf(stderr, "certctl: demo: cannot store signers and venues: %s\n", cg_strerror(err));
    goto done;
  }
  snprintf(path, sizeof path, "%s/trust", d.dir);
  if ((err = cg_trust_load(&trust, path, store, &why)) != 0) {
    fprintf(stderr, "certctl: demo: %s\n", why.text);
    goto done;
  }
  ctl_progress_init(&prog, "import");
  io.progress = import_progress;
  io.progress_arg = &prog;
  /* Sealed a moment ago, verified now, through the import's own path. */
  io.trust = d.verify ? trust : NULL;
  err = cg_import_file(store, src, &io, &res);
  ctl_progress_done(&prog);
  if (err) {
    fprintf(stderr, "certctl: demo: import failed at line %llu: %s\n",
            (unsigned long long)res.bad_line, res.why.text);
    goto done;
  }
  err = write_demo_json(&d, venues);
  venues = NULL; /* demo.json's object took it, and freed it */
  if (err)
    goto done;
  if (!d.keep_source)
    unlink(src);

  printf("demo deployment in %s: %llu certificates, %zu holders, %d agencies, 2 venues "
         "(%.1f s)\n",
         d.dir, (unsigned long long)res.records, d.nholders, d.nagencies, ctl_now() - t0);
  printf("  config   %s/certgw.conf\n  details  %s/demo.json\n", d.dir, d.dir);
  for (int k = 0; k < 2; k++)
    printf("  upstream %-8s 127.0.0.1:%u, %zu certificates in %s/upstream/%s.jsonl\n",
           d.up[k].name, d.up[k].port, d.up[k].nspecs, d.dir, d.up[k].name);
  err = 0;

done:
  cJSON_Delete(venues);
  cg_trust_free(trust);
  cg_store_close(store);
  for (int i = 0; i < d.nagencies; i++)
    cg_signer_free(d.agencies[i].signer);
  cg_signer_free(d.ca);
  free(d.agencies);
  free(d.holders);
  free(d.specs);
  free(d.has_types);
  free(d.counter);
  free(d.up[0].specs);
  free(d.up[1].specs);
  return err ? 1 : 0;

bad:
  fputs(usage, stderr);
  return 2;
}
